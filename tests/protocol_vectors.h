/* The protocol vector generator (tests/protocol_vectors.c). */
#ifndef PQ3_TEST_PROTOCOL_VECTORS_H
#define PQ3_TEST_PROTOCOL_VECTORS_H
/* The whole vector file as a JSON string (free with free()), or NULL when
 * the conversation failed (the reason is printed). */
char *pq3tv_generate(void);
#endif
