/* One-line log events on standard error (docs/SERVER.md §12). */
#include "pq3d.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int pq3d_log_level = PQ3D_INFO;

void pq3d_log(int level, const char *event, const char *fmt, ...)
{
    static const char *names[] = { "debug", "info", "warn", "error" };
    char line[2048];
    struct timespec ts;
    struct tm tm;
    size_t n;
    va_list ap;

    if (level < pq3d_log_level)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(line, sizeof line, "ts=%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof line - n, ".%03ldZ level=%s event=%s",
                          ts.tv_nsec / 1000000, names[level & 3], event);
    if (fmt != NULL && fmt[0] != 0 && n < sizeof line - 2) {
        line[n++] = ' ';
        va_start(ap, fmt);
        vsnprintf(line + n, sizeof line - n, fmt, ap);
        va_end(ap);
    }
    /* One event, one line: a newline inside a value would forge a line. */
    for (char *p = line; *p != 0; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    fprintf(stderr, "%s\n", line);
}

const char *pq3d_log_quote(char *buf, size_t len, const char *s)
{
    size_t o = 0;
    if (len < 3)
        return "\"\"";
    buf[o++] = '"';
    for (; *s != 0 && o + 3 < len; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)ch;
        } else if (ch < 0x20 || ch == 0x7f) {
            buf[o++] = '?';
        } else {
            buf[o++] = (char)ch;
        }
    }
    buf[o++] = '"';
    buf[o] = 0;
    return buf;
}
