/* pq3_wipe: the one secret-erasing function (STYLE.md rule 9). */
#include <string.h>

#include "pq3/common.h"

void pq3_wipe(void *p, size_t len)
{
    if (p == NULL || len == 0)
        return;
    memset(p, 0, len);
    /* The empty asm takes the buffer as an input and clobbers memory, so the
     * compiler must assume the zeros are read and cannot drop the memset. */
    __asm__ __volatile__("" : : "r"(p) : "memory");
}
