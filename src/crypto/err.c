/* pq3_err descriptions and classes (include/pq3/common.h). */
#include "pq3/common.h"

const char *pq3_strerror(pq3_err err)
{
    switch (err) {
    case PQ3_OK: return "success";
    case PQ3_ERR_DECODE: return "malformed or non-canonical encoding";
    case PQ3_ERR_VERIFY: return "verification failed";
    case PQ3_ERR_KEY: return "invalid public key";
    case PQ3_ERR_EXPIRED: return "certificate or prekey expired or not yet valid";
    case PQ3_ERR_REPLAY: return "message already processed (replay)";
    case PQ3_ERR_UNKNOWN: return "unknown key, prekey or session";
    case PQ3_ERR_LIMIT: return "limit exceeded";
    case PQ3_ERR_VERSION: return "unsupported version or type";
    case PQ3_ERR_REFUSED: return "refused by the server";
    case PQ3_ERR_RNG: return "random number generator failed";
    case PQ3_ERR_NOMEM: return "out of memory";
    case PQ3_ERR_IO: return "input/output error";
    case PQ3_ERR_CRYPTO: return "cryptographic backend failed";
    case PQ3_ERR_ARG: return "invalid argument";
    case PQ3_ERR_BUFFER: return "output buffer too small";
    case PQ3_ERR_STATE: return "operation not valid in this state";
    default: return "unknown error";
    }
}

int pq3_err_is_input(pq3_err err) { return err <= -1 && err >= -19; }
int pq3_err_is_system(pq3_err err) { return err <= -20 && err >= -39; }
int pq3_err_is_misuse(pq3_err err) { return err <= -40 && err >= -59; }
