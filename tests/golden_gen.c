/*
 * golden_gen DIR   writes the golden blobs of the current formats
 *                  (tests/vectors/golden/README.md) into DIR.
 *
 * A file that exists already is never overwritten: it must hold exactly
 * the bytes the code writes now, or golden_gen fails. Golden blobs are
 * written once per format and read by test_formats for ever after; a
 * format change gets new file names, never new contents under old ones.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden.h"
#include "testutil.h"

int main(int argc, char **argv)
{
    pq3tg_world w;
    pq3tg_blob b[PQ3TG_BLOBS];
    int status = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    if (!pq3tg_build(&w) || !pq3tg_blobs(&w, b)) {
        fprintf(stderr, "golden_gen: the scenario failed\n");
        return 1;
    }
    for (int i = 0; i < PQ3TG_BLOBS; i++) {
        char path[4096];
        char *hex = pq3tg_hex_lines(b[i].bytes, b[i].len);
        size_t len = 0;
        char *old;
        snprintf(path, sizeof path, "%s/%s", argv[1], b[i].name);
        old = pq3t_read_file(path, &len);
        if (old != NULL) {
            if (len != strlen(hex) || memcmp(old, hex, len) != 0) {
                fprintf(stderr, "golden_gen: %s exists and differs from what the code writes "
                                "now; golden blobs are never regenerated (see README.md)\n",
                        path);
                status = 1;
            } else {
                printf("%s: unchanged\n", path);
            }
            free(old);
        } else {
            FILE *f = fopen(path, "wx");
            if (f == NULL || fputs(hex, f) == EOF || fclose(f) != 0) {
                fprintf(stderr, "golden_gen: cannot write %s\n", path);
                status = 1;
            } else {
                printf("%s: written (%zu bytes)\n", path, b[i].len);
            }
        }
        free(hex);
    }
    pq3tg_blobs_free(b);
    pq3tg_free(&w);
    return status;
}
