/* Hashing, HMAC and base64 through OpenSSL's libcrypto.  Stateless. */
#ifndef PLUMB_CRYPTO_H
#define PLUMB_CRYPTO_H

#include <stddef.h>

#define SHA256_LEN     32
#define SHA256_HEX_LEN 64

int sha256(const void *data, size_t len, unsigned char out[SHA256_LEN]);
/* Lower-case hex digest into out (65 bytes with the NUL). */
int sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN + 1]);
int hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                unsigned char out[SHA256_LEN]);

/* Incremental SHA-256 for data that arrives in pieces. */
struct sha256_ctx;
int sha256_begin(struct sha256_ctx **ret);
int sha256_update(struct sha256_ctx *ctx, const void *data, size_t len);
/* Finishes and frees ctx. */
int sha256_end(struct sha256_ctx *ctx, unsigned char out[SHA256_LEN]);
void sha256_abort(struct sha256_ctx *ctx);

/* Base64 (standard alphabet, padded, no line breaks); malloc'd result. */
char *base64_encode(const void *data, size_t len);
/* Decode; whitespace is not allowed.  Returns 0, -EINVAL or -ENOMEM. */
int base64_decode(const char *in, unsigned char **ret, size_t *ret_len);

/* Constant-time comparison. */
int crypto_memeq(const void *a, const void *b, size_t len);

#endif
