/* Placeholder translation unit for a library whose sources are not there yet. */
typedef int pq3_empty_unit;
