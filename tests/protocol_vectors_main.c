/*
 * protocol_vectors [--network] --write FILE   writes the protocol test vectors
 * protocol_vectors [--network] --check FILE   regenerates them and requires
 *                                             FILE to be byte-identical (the
 *                                             tests test_protocol_vectors and
 *                                             test_protocol_vectors_network)
 *
 * Without --network: tests/vectors/protocol-v1.json (PROTOCOL.md Appendix
 * A); with it: tests/vectors/protocol-v1-network.json (Appendix B).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol_vectors.h"
#include "testutil.h"

int main(int argc, char **argv)
{
    char *json;
    int network = argc == 4 && strcmp(argv[1], "--network") == 0;
    if (network) {
        argv++;
        argc--;
    }
    if (argc != 3 || (strcmp(argv[1], "--write") != 0 && strcmp(argv[1], "--check") != 0)) {
        fprintf(stderr, "usage: %s [--network] --write|--check FILE\n", argv[0]);
        return 2;
    }
    json = network ? pq3tv_generate_network() : pq3tv_generate();
    CHECK(json != NULL);
    if (json == NULL)
        return pq3t_finish();
    if (strcmp(argv[1], "--write") == 0) {
        FILE *f = fopen(argv[2], "wb");
        CHECK(f != NULL);
        if (f != NULL) {
            CHECK(fwrite(json, 1, strlen(json), f) == strlen(json));
            CHECK(fputc('\n', f) == '\n');
            CHECK(fclose(f) == 0);
        }
    } else {
        size_t len = 0;
        char *old = pq3t_read_file(argv[2], &len);
        CHECKF(old != NULL, "cannot read %s", argv[2]);
        if (old != NULL) {
            size_t n = strlen(json);
            int same = len == n + 1 && memcmp(old, json, n) == 0 && old[n] == '\n';
            CHECKF(same, "%s differs from the regenerated vectors (regenerate with "
                         "protocol_vectors --write and review the diff)", argv[2]);
            if (!same) {
                size_t i = 0;
                while (i < n && i < len && old[i] == json[i])
                    i++;
                fprintf(stderr, "first difference at byte %zu\n", i);
            }
            free(old);
        }
    }
    free(json);
    return pq3t_finish();
}
