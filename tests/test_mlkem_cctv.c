/* C2SP CCTV tests for ML-KEM-768 and ML-KEM-1024:
 *  - every encapsulation key of cctv/modulus/ (one coefficient in q..4095)
 *    is refused by check_ek and by both encapsulation functions;
 *  - the "accumulated" test: N deterministic keygen/encaps/decaps rounds
 *    hashed together, against the final-FIPS-203 hashes of
 *    mlkem/SOURCES.md (N = 10,000 here; `test_mlkem_cctv million` runs the
 *    1,000,000-round version, registered only with -DPQ3_SLOW_TESTS=ON);
 *  - the parts of cctv/intermediate-ipd/ that hold for final FIPS 203: the
 *    files were made for the draft, whose keygen derived (rho, sigma) =
 *    G(d) instead of G(d || k). Everything from (rho, sigma) on is
 *    unchanged, so K-PKE.KeyGen is run from the file's rho and sigma, and
 *    encapsulation and decapsulation from its ek, dk and m. */
#include <stdlib.h>
#include <string.h>

#include "mlkem/keccak.h"
#include "mlkem/kpke.h"
#include "mlkem/params.h"
#include "pq3/mlkem.h"
#include "testutil.h"

typedef struct {
    const char *name;
    unsigned k;
    size_t ek_bytes, dk_bytes, ct_bytes;
    pq3_err (*keypair_derand)(uint8_t *, uint8_t *, const uint8_t *, const uint8_t *);
    pq3_err (*encaps_derand)(uint8_t *, uint8_t *, const uint8_t *, const uint8_t *);
    pq3_err (*encaps)(uint8_t *, uint8_t *, const uint8_t *);
    pq3_err (*decaps)(uint8_t *, const uint8_t *, const uint8_t *);
    pq3_err (*check_ek)(const uint8_t *);
    const char *acc10k, *acc1m; /* final FIPS 203 accumulated hashes */
    pq3_mlkem_params params;
} kem_set;

static const kem_set sets[] = {
    { "ML-KEM-768", 3, PQ3_MLKEM768_EK_BYTES, PQ3_MLKEM768_DK_BYTES, PQ3_MLKEM768_CT_BYTES,
      pq3_mlkem768_keypair_derand, pq3_mlkem768_encaps_derand, pq3_mlkem768_encaps,
      pq3_mlkem768_decaps, pq3_mlkem768_check_ek,
      "f959d18d3d1180121433bf0e05f11e7908cf9d03edc150b2b07cb90bef5bc1c1",
      "3b108396a277f2952ff3243a985c9709bcb95788c39b7b36a2c4e19d1a41e51e",
      { 3, 2, 2, 10, 4 } },
    { "ML-KEM-1024", 4, PQ3_MLKEM1024_EK_BYTES, PQ3_MLKEM1024_DK_BYTES, PQ3_MLKEM1024_CT_BYTES,
      pq3_mlkem1024_keypair_derand, pq3_mlkem1024_encaps_derand, pq3_mlkem1024_encaps,
      pq3_mlkem1024_decaps, pq3_mlkem1024_check_ek,
      "e3bf82b013307b2e9d47dde791ff6dfc82e694e6382404abdb948b908b75bad5",
      "6377c4f0ecfdb32e63f7b58227960828784fe0b3e0e5e5e9f77be300f003512a",
      { 4, 2, 2, 11, 5 } },
};

static void test_modulus(const kem_set *s)
{
    char rel[64], cmd[1200], *line;
    size_t cap = 8192, count = 0;
    FILE *f;

    snprintf(rel, sizeof rel, "mlkem/cctv/modulus/%s.txt.gz", s->name);
    snprintf(cmd, sizeof cmd, "gzip -dc '%s'", pq3t_vector_path(rel));
    f = popen(cmd, "r");
    if (f == NULL)
        pq3t_skip("cannot run gzip to read %s", rel);
    line = malloc(cap);
    while (fgets(line, (int)cap, f) != NULL) {
        uint8_t *ek, *ct = malloc(s->ct_bytes), ss[32], m[32] = { 7 };
        size_t len;
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0')
            continue;
        ek = pq3t_unhex(line, &len);
        CHECKF(ek != NULL && len == s->ek_bytes, "%s modulus line %zu", s->name, count + 1);
        if (ek != NULL && len == s->ek_bytes) {
            CHECKF(s->check_ek(ek) == PQ3_ERR_KEY, "%s modulus key %zu accepted", s->name,
                   count + 1);
            memset(ct, 0x5A, s->ct_bytes);
            memset(ss, 0x5A, sizeof ss);
            CHECK_ERR(s->encaps_derand(ct, ss, ek, m), PQ3_ERR_KEY);
            CHECK_ERR(s->encaps(ct, ss, ek), PQ3_ERR_KEY);
            /* Outputs untouched on error. */
            CHECK(ct[0] == 0x5A && ct[s->ct_bytes - 1] == 0x5A && ss[0] == 0x5A && ss[31] == 0x5A);
        }
        free(ek);
        free(ct);
        count++;
    }
    free(line);
    CHECKF(pclose(f) == 0, "gzip -dc %s failed", rel);
    CHECKF(count == (s->k == 3 ? 780u : 1040u), "%s: %zu modulus keys", s->name, count);
    printf("%s: %zu bad-modulus keys rejected\n", s->name, count);
}

static void accumulated(const kem_set *s, unsigned long n, const char *expect)
{
    pq3_keccak_ctx rng, acc;
    uint8_t d[32], z[32], m[32], k1[32], k2[32], kr[32], out[32];
    uint8_t *ek = malloc(s->ek_bytes), *dk = malloc(s->dk_bytes);
    uint8_t *ct = malloc(s->ct_bytes), *ctr = malloc(s->ct_bytes);
    unsigned long bad = 0;
    char *hex;

    pq3_shake128_init(&rng);
    pq3_keccak_finalize(&rng);
    pq3_shake128_init(&acc);
    for (unsigned long i = 0; i < n; i++) {
        pq3_keccak_squeeze(&rng, d, 32);
        pq3_keccak_squeeze(&rng, z, 32);
        pq3_keccak_squeeze(&rng, m, 32);
        pq3_keccak_squeeze(&rng, ctr, s->ct_bytes);
        bad |= (unsigned long)(s->keypair_derand(ek, dk, d, z) != PQ3_OK);
        bad |= (unsigned long)(s->encaps_derand(ct, k1, ek, m) != PQ3_OK);
        bad |= (unsigned long)(s->decaps(k2, ct, dk) != PQ3_OK);
        bad |= (unsigned long)(memcmp(k1, k2, 32) != 0);
        bad |= (unsigned long)(s->decaps(kr, ctr, dk) != PQ3_OK);
        pq3_keccak_absorb(&acc, ek, s->ek_bytes);
        pq3_keccak_absorb(&acc, dk, s->dk_bytes);
        pq3_keccak_absorb(&acc, ct, s->ct_bytes);
        pq3_keccak_absorb(&acc, k1, 32);
        pq3_keccak_absorb(&acc, kr, 32);
    }
    pq3_keccak_squeeze(&acc, out, 32);
    hex = pq3t_hex(out, 32);
    CHECKF(bad == 0, "%s accumulated: a call failed or decaps disagreed", s->name);
    CHECKF(strcmp(hex, expect) == 0, "%s accumulated %lu: got %s, expected %s", s->name, n, hex,
           expect);
    printf("%s accumulated %lu: %s\n", s->name, n, hex);
    free(hex);
    free(ek); free(dk); free(ct); free(ctr);
}

/* The value of `name = hex` in an intermediate-values file (the last " = "
 * separates the value: one line reads "dkPKE = NTT(s) = ..."). */
static uint8_t *ipd_value(const char *text, const char *name, size_t *len)
{
    size_t nl = strlen(name);
    const char *p = text;
    while (p != NULL && *p != '\0') {
        const char *eol = strchr(p, '\n');
        size_t ll = eol != NULL ? (size_t)(eol - p) : strlen(p);
        if (ll > nl + 3 && memcmp(p, name, nl) == 0 && memcmp(p + nl, " = ", 3) == 0) {
            const char *v = p + nl + 3;
            char *hex = malloc(ll);
            uint8_t *b;
            memcpy(hex, v, ll - nl - 3);
            hex[ll - nl - 3] = '\0';
            b = pq3t_unhex(hex, len);
            free(hex);
            if (b != NULL)
                return b;
        }
        p = eol != NULL ? eol + 1 : NULL;
    }
    CHECKF(0, "intermediate value %s not found", name);
    return NULL;
}

static void test_intermediate(const kem_set *s)
{
    char rel[64];
    size_t tl, l1, l2, l3, l4, l5, l6, l7, l8, l9, l10;
    char *text;
    uint8_t *rho, *sigma, *dkpke, *ek, *dk, *m, *kk, *c, *kbar, *hek;

    snprintf(rel, sizeof rel, "mlkem/cctv/intermediate-ipd/%s.txt", s->name);
    text = pq3t_read_file(pq3t_vector_path(rel), &tl);
    CHECKF(text != NULL, "cannot read %s", rel);
    if (text == NULL)
        return;
    rho = ipd_value(text, "\xcf\x81", &l1);     /* rho */
    sigma = ipd_value(text, "\xcf\x83", &l2);   /* sigma */
    dkpke = ipd_value(text, "dkPKE = NTT(s)", &l3);
    ek = ipd_value(text, "ek", &l4);
    dk = ipd_value(text, "dk", &l5);
    m = ipd_value(text, "m", &l6);
    kk = ipd_value(text, "K", &l7);
    c = ipd_value(text, "c", &l8);
    kbar = ipd_value(text, "KBar", &l9);
    hek = ipd_value(text, "H(ek)", &l10);
    if (rho && sigma && dkpke && ek && dk && m && kk && c && kbar && hek && l1 == 32 &&
        l2 == 32 && l3 == 384 * s->k && l4 == s->ek_bytes && l5 == s->dk_bytes && l6 == 32 &&
        l7 == 32 && l8 == s->ct_bytes && l9 == 32 && l10 == 32) {
        uint8_t *oek = malloc(s->ek_bytes), *odk = malloc(384 * s->k), *oc = malloc(s->ct_bytes);
        uint8_t ok[32], h[32], j[32];
        pq3_keccak_ctx x;
        /* K-PKE.KeyGen from line 2 on. */
        pq3_kpke_keygen(&s->params, oek, odk, rho, sigma);
        CHECKF(memcmp(oek, ek, s->ek_bytes) == 0, "%s ipd: ek from (rho, sigma)", s->name);
        CHECKF(memcmp(odk, dkpke, 384 * s->k) == 0, "%s ipd: dk_pke", s->name);
        CHECKF(memcmp(dk, dkpke, 384 * s->k) == 0, "%s ipd: dk starts with dk_pke", s->name);
        pq3_sha3_256(h, ek, s->ek_bytes);
        CHECKF(memcmp(h, hek, 32) == 0, "%s ipd: H(ek)", s->name);
        /* Encaps_internal and Decaps_internal. */
        CHECK_OK(s->encaps_derand(oc, ok, ek, m));
        CHECKF(memcmp(oc, c, s->ct_bytes) == 0, "%s ipd: c", s->name);
        CHECKF(memcmp(ok, kk, 32) == 0, "%s ipd: K", s->name);
        CHECK_OK(s->decaps(ok, c, dk));
        CHECKF(memcmp(ok, kk, 32) == 0, "%s ipd: decaps K", s->name);
        /* K-bar = J(z || c), z the last 32 bytes of dk. */
        pq3_shake256_init(&x);
        pq3_keccak_absorb(&x, dk + s->dk_bytes - 32, 32);
        pq3_keccak_absorb(&x, c, s->ct_bytes);
        pq3_keccak_squeeze(&x, j, 32);
        CHECKF(memcmp(j, kbar, 32) == 0, "%s ipd: K-bar", s->name);
        free(oek); free(odk); free(oc);
    } else {
        CHECKF(0, "%s ipd: values missing or of the wrong size", s->name);
    }
    free(rho); free(sigma); free(dkpke); free(ek); free(dk); free(m); free(kk); free(c);
    free(kbar); free(hek);
    free(text);
}

int main(int argc, char **argv)
{
    int million = argc > 1 && strcmp(argv[1], "million") == 0;
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        if (million) {
            accumulated(&sets[i], 1000000, sets[i].acc1m);
            continue;
        }
        test_modulus(&sets[i]);
        test_intermediate(&sets[i]);
        accumulated(&sets[i], 10000, sets[i].acc10k);
    }
    return pq3t_finish();
}
