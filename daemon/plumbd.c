#include <stdio.h>

#include "plumb-config.h"

int main(void)
{
    printf("plumbd %s\n", PLUMB_VERSION);
    return 0;
}
