/* The constant-time harness must be able to fail: this program branches on a
 * secret on purpose, and ctest expects valgrind to report it (WILL_FAIL, set
 * in tests/ct_canary.cmake). If this test "passes", the ct check is blind. */
#include <stdio.h>
#include <string.h>

#include "ct.h"
#include "testutil.h"

int main(void)
{
    volatile uint8_t secret[16];
    uint8_t copy[16];
    int branch = 0;
    memset((void *)secret, 7, sizeof secret);
    CT_SECRET((void *)secret, sizeof secret);
    memcpy(copy, (const void *)secret, sizeof copy);
    if (copy[3] == 7) /* secret-dependent branch: valgrind must report it */
        branch = 1;
    printf("ct_canary: branched=%d (valgrind should have reported it)\n", branch);
    return 0;
}
