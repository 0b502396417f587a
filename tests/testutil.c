#include "testutil.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/sha.h>

unsigned long pq3t_checks, pq3t_failures;

static const char *program_name(void)
{
    extern char *program_invocation_short_name;
    return program_invocation_short_name;
}

void pq3t_fail(const char *file, int line, const char *expr, const char *fmt, ...)
{
    pq3t_failures++;
    if (pq3t_failures > 50)
        return; /* counted, not printed: the first 50 tell the story */
    fprintf(stderr, "FAIL %s:%d: %s", file, line, expr);
    if (fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        fputs(": ", stderr);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    fputc('\n', stderr);
}

int pq3t_finish(void)
{
    if (pq3t_checks == 0) {
        fprintf(stderr, "%s: no check ran\n", program_name());
        return 1;
    }
    printf("%s: %lu passed, %lu failed\n", program_name(),
           pq3t_checks - pq3t_failures, pq3t_failures);
    return pq3t_failures == 0 ? 0 : 1;
}

void pq3t_skip(const char *fmt, ...)
{
    va_list ap;
    char msg[1024];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    printf("SKIPPED %s: %s\n", program_name(), msg);
    fprintf(stderr, "SKIPPED %s: %s\n", program_name(), msg);
    exit(77);
}

const char *pq3t_vector_path(const char *rel)
{
    static char path[4096];
    struct stat st;
    const char *dir = getenv("PQ3_VECTORS_DIR");
    if (dir == NULL || *dir == '\0')
        pq3t_skip("PQ3_VECTORS_DIR is not set; test vectors unavailable");
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    if (stat(path, &st) != 0)
        pq3t_skip("test vectors absent: %s (%s)", path, strerror(errno));
    return path;
}

char *pq3t_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long size;
    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto out;
    buf = malloc((size_t)size + 1);
    if (buf == NULL)
        goto out;
    if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
        goto out;
    }
    buf[size] = '\0';
    if (len != NULL)
        *len = (size_t)size;
out:
    fclose(f);
    return buf;
}

cJSON *pq3t_load_json(const char *path)
{
    size_t len;
    char *text = pq3t_read_file(path, &len);
    cJSON *json;
    if (text == NULL) {
        pq3t_fail(__FILE__, __LINE__, "read", "cannot read %s", path);
        return NULL;
    }
    json = cJSON_ParseWithLength(text, len);
    free(text);
    if (json == NULL)
        pq3t_fail(__FILE__, __LINE__, "parse", "bad JSON in %s", path);
    return json;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

uint8_t *pq3t_unhex(const char *hex, size_t *len)
{
    size_t n = strlen(hex);
    uint8_t *out;
    if (n % 2 != 0)
        return NULL;
    out = malloc(n / 2 + 1);
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(out);
            return NULL;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *len = n / 2;
    return out;
}

int pq3t_unhex_into(uint8_t *out, size_t n, const char *hex)
{
    size_t len;
    uint8_t *b;
    if (hex == NULL || strlen(hex) != 2 * n)
        return 0;
    b = pq3t_unhex(hex, &len);
    if (b == NULL)
        return 0;
    memcpy(out, b, n);
    free(b);
    return 1;
}

char *pq3t_hex(const uint8_t *buf, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    char *s = malloc(2 * len + 1);
    if (s == NULL)
        abort();
    for (size_t i = 0; i < len; i++) {
        s[2 * i] = digits[buf[i] >> 4];
        s[2 * i + 1] = digits[buf[i] & 15];
    }
    s[2 * len] = '\0';
    return s;
}

const char *pq3t_json_str(const cJSON *obj, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

void pq3t_drbg_init(pq3t_drbg *d, const char *label, uint64_t n)
{
    uint8_t in[256 + 8];
    size_t l = strlen(label);
    if (l > 256)
        l = 256;
    memset(d, 0, sizeof *d);
    memcpy(in, label, l);
    for (int i = 0; i < 8; i++)
        in[l + (size_t)i] = (uint8_t)(n >> (56 - 8 * i));
    SHA256(in, l + 8, d->seed);
    d->used = sizeof d->buf;
    d->fail_after = -1;
}

static pq3_err drbg_fill(void *ctx, uint8_t *out, size_t len)
{
    pq3t_drbg *d = ctx;
    if (d->fail_after >= 0 && d->calls >= d->fail_after)
        return PQ3_ERR_RNG;
    d->calls++;
    while (len > 0) {
        if (d->used == sizeof d->buf) {
            uint8_t in[40];
            memcpy(in, d->seed, 32);
            for (int i = 0; i < 8; i++)
                in[32 + i] = (uint8_t)(d->counter >> (56 - 8 * i));
            d->counter++;
            SHA256(in, sizeof in, d->buf);
            d->used = 0;
        }
        size_t take = sizeof d->buf - d->used;
        if (take > len)
            take = len;
        memcpy(out, d->buf + d->used, take);
        d->used += take;
        out += take;
        len -= take;
    }
    return PQ3_OK;
}

pq3_rng pq3t_drbg_rng(pq3t_drbg *d)
{
    pq3_rng r = { d, drbg_fill };
    return r;
}

static pq3_err failing_fill(void *ctx, uint8_t *out, size_t len)
{
    (void)ctx;
    (void)out;
    (void)len;
    return PQ3_ERR_RNG;
}

pq3_rng pq3t_failing_rng(void)
{
    pq3_rng r = { NULL, failing_fill };
    return r;
}
