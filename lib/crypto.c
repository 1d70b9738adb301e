#include "crypto.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int sha256(const void *data, size_t len, unsigned char out[SHA256_LEN])
{
    unsigned int n = 0;
    if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != SHA256_LEN)
        return -EIO;
    return 0;
}

int sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN + 1])
{
    unsigned char md[SHA256_LEN];
    int r = sha256(data, len, md);
    if (r < 0)
        return r;
    hex_encode(md, SHA256_LEN, out);
    return 0;
}

int hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                unsigned char out[SHA256_LEN])
{
    unsigned int n = 0;
    if (key_len > (size_t)INT32_MAX)
        return -EINVAL;
    if (!HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &n) || n != SHA256_LEN)
        return -EIO;
    return 0;
}

struct sha256_ctx {
    EVP_MD_CTX *md;
};

int sha256_begin(struct sha256_ctx **ret)
{
    struct sha256_ctx *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->md = EVP_MD_CTX_new();
    if (!c->md || EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1) {
        sha256_abort(c);
        return -ENOMEM;
    }
    *ret = c;
    return 0;
}

int sha256_update(struct sha256_ctx *ctx, const void *data, size_t len)
{
    return EVP_DigestUpdate(ctx->md, data, len) == 1 ? 0 : -EIO;
}

int sha256_end(struct sha256_ctx *ctx, unsigned char out[SHA256_LEN])
{
    unsigned int n = 0;
    int r = EVP_DigestFinal_ex(ctx->md, out, &n) == 1 && n == SHA256_LEN ? 0 : -EIO;
    sha256_abort(ctx);
    return r;
}

void sha256_abort(struct sha256_ctx *ctx)
{
    if (!ctx)
        return;
    EVP_MD_CTX_free(ctx->md);
    free(ctx);
}

char *base64_encode(const void *data, size_t len)
{
    size_t out_len = 4 * ((len + 2) / 3) + 1;
    char *out;
    if (len > (size_t)INT32_MAX / 2)
        return NULL;
    out = malloc(out_len);
    if (!out)
        return NULL;
    EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    return out;
}

int base64_decode(const char *in, unsigned char **ret, size_t *ret_len)
{
    size_t len = strlen(in), pad = 0;
    unsigned char *out;
    int n;

    if (len % 4 || len > (size_t)INT32_MAX / 2)
        return -EINVAL;
    out = malloc(len / 4 * 3 + 1);
    if (!out)
        return -ENOMEM;
    n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
    if (n < 0) {
        free(out);
        return -EINVAL;
    }
    /* EVP_DecodeBlock counts padding bytes as data. */
    if (len >= 1 && in[len - 1] == '=')
        pad++;
    if (len >= 2 && in[len - 2] == '=')
        pad++;
    out[n - (int)pad] = 0;
    *ret = out;
    *ret_len = (size_t)n - pad;
    return 0;
}

int crypto_memeq(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}
