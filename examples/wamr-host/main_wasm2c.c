/*
 * main_wasm2c.c: the host loop of pj_host.c run for real on a desktop or in CI, with power
 * failures simulated at chosen bytes of the non-volatile store. model.wasm is translated
 * to C by wabt's wasm2c (build.sh), so the module runs as native code with the same
 * semantics as under WAMR; the store is an array that plays FRAM. A power failure is a
 * "reset": the store stops writing at the chosen byte, the host longjmps back to power-on,
 * the module instance is freed and instantiated again (so its memory and globals are gone,
 * as on a device), and the loop starts over from what the store holds. It prints, per
 * inference, the outputs in hex and the number of resets, so a test can check that no
 * failure changes the answer.
 *
 * Why cuts only inside store writes: the module keeps nothing across a reset, so a
 * failure during a module call loses only volatile state, exactly as a cut at the first
 * byte of the next write does. Cutting every byte of every write therefore covers every
 * possible failure of a power-on.
 *
 * usage: pj_wasm2c --input in.bin [--previous prev.bin] [--commit-every K] [--trace]
 *          [--cuts C[,C...]]                   one inference; the k-th power-on fails at cut k
 *          [--every]                           one inference per byte of every write of a failure-free run
 *          [--seed S --runs R [--max-cuts K]]  R inferences with 1..K random cuts each
 *                                              (default K 6), each cut in the first 1/k of
 *                                              the bytes a failure-free run writes (k cuts)
 *   a cut is P:B (after B bytes of the P-th store write of that power-on, counted from 0)
 *   or N (after the N-th byte written in that power-on); in.bin holds the raw inputs,
 *   concatenated in input order (int8 for quantized models); with --previous the store
 *   first holds a completed inference on prev.bin (at steady power, not cut), so the
 *   inference on in.bin is the store's second request
 * Output: one line per inference, "run <k> cuts <list> resets <n> begins <n> outputs <hex>[,<hex>]",
 * the failure-free run first as "run steady", then "summary runs <n> resets <n> unused <n>
 * mismatches <n>" (mismatches: inferences whose outputs differ from the failure-free
 * run's). Exit status: 0 when there are no mismatches, 1 on a mismatch or an error, 2 on
 * bad arguments.
 */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasm-rt.h"
#include "wasm-rt-impl.h"
#include "model_w2c.h" /* wasm2c's header for model.wasm (build.sh: wasm2c -n model) */
#include "model.h"     /* picojoule's header for the same module */
#include "pj_host.h"

#ifndef PJ_NV_BASE
#error "model.h has no PJ_NV_BASE: compile the model with --intermittent"
#endif

/* wasm2c changed its symbol names in wabt 1.0.33; build.sh tells which it found. */
#if PJ_W2C_NEW_NAMES
typedef w2c_model w2c_inst;
#define W2C(name) w2c_model_##name
#define W2C_INIT_MODULE() ((void)0)
#define W2C_INSTANTIATE(i) wasm2c_model_instantiate(i)
#define W2C_FREE(i) wasm2c_model_free(i)
#else
typedef Z_model_instance_t w2c_inst;
#define W2C(name) Z_modelZ_##name
#define W2C_INIT_MODULE() Z_model_init_module()
#define W2C_INSTANTIATE(i) Z_model_instantiate(i)
#define W2C_FREE(i) Z_model_free(i)
#endif

/* ---- the module binding: pj_module over a wasm2c instance ---------------------------- */

/* A wasm i32 result as a signed value, without an implementation-defined conversion. */
static int32_t as_i32(uint32_t v)
{
    return v <= (uint32_t)INT32_MAX ? (int32_t)v : -(int32_t)(UINT32_MAX - v) - 1;
}

static w2c_inst *inst(void *ctx) { return (w2c_inst *)ctx; }

static uint8_t *b_memory(void *ctx, uint32_t *bytes)
{
    wasm_rt_memory_t *mem = W2C(memory)(inst(ctx));
    *bytes = (uint32_t)mem->size;
    return mem->data;
}
static void b_begin(void *ctx, uint32_t id) { W2C(begin)(inst(ctx), id); }
static int32_t b_resume(void *ctx) { return as_i32(W2C(resume)(inst(ctx))); }
static int32_t b_step(void *ctx, int32_t commit) { return as_i32(W2C(step)(inst(ctx), (uint32_t)commit)); }
static void b_commit(void *ctx) { W2C(commit)(inst(ctx)); }
static int32_t b_dirty_count(void *ctx) { return as_i32(W2C(dirty_count)(inst(ctx))); }
static uint32_t b_dirty_ptr(void *ctx, int32_t i) { return W2C(dirty_ptr)(inst(ctx), (uint32_t)i); }
static int32_t b_dirty_len(void *ctx, int32_t i) { return as_i32(W2C(dirty_len)(inst(ctx), (uint32_t)i)); }
static uint32_t b_inference_id(void *ctx) { return W2C(inference_id)(inst(ctx)); }
static uint32_t b_nv_base(void *ctx) { return W2C(nv_base)(inst(ctx)); }
static int32_t b_nv_bytes(void *ctx) { return as_i32(W2C(nv_bytes)(inst(ctx))); }
static uint32_t b_input_ptr(void *ctx, int32_t i) { return W2C(input_ptr)(inst(ctx), (uint32_t)i); }
static int32_t b_input_bytes(void *ctx, int32_t i) { return as_i32(W2C(input_bytes)(inst(ctx), (uint32_t)i)); }
static uint32_t b_output_ptr(void *ctx, int32_t i) { return W2C(output_ptr)(inst(ctx), (uint32_t)i); }
static int32_t b_output_bytes(void *ctx, int32_t i) { return as_i32(W2C(output_bytes)(inst(ctx), (uint32_t)i)); }

/* ---- the simulated FRAM, and where power fails ----------------------------------------- */

typedef struct cut {
    int32_t write; /* -1: `byte` counts every byte written since power-on */
    uint32_t byte;
} cut;

static uint8_t *g_fram;
static uint32_t g_fram_bytes;
static jmp_buf g_power;   /* where a power failure lands: power-on */
static int g_armed;       /* whether this power-on has a cut */
static cut g_cut;
static uint64_t g_cut_at; /* the cut as bytes since power-on, once known */
static uint32_t g_writes; /* store writes since power-on */
static uint64_t g_written;
static int g_trace;
/* the failure-free run's writes: their lengths, for --every */
static uint32_t *g_log;
static uint32_t g_log_n, g_log_cap;
static int g_logging;

static int fram_read(void *ctx, uint32_t off, uint8_t *dst, uint32_t n)
{
    (void)ctx;
    if (off > g_fram_bytes || n > g_fram_bytes - off) return 1;
    if (n) memcpy(dst, g_fram + off, n);
    return 0;
}

static int fram_write(void *ctx, uint32_t off, const uint8_t *src, uint32_t n)
{
    uint32_t k = n;
    int fail = 0;
    (void)ctx;
    if (off > g_fram_bytes || n > g_fram_bytes - off) return 1;
    if (g_armed) {
        if (g_cut.write >= 0 && (uint32_t)g_cut.write == g_writes) {
            g_cut_at = g_written + g_cut.byte; /* from here on it counts bytes */
            g_cut.write = -1;
        }
        if (g_cut.write < 0 && g_cut_at < g_written + n) {
            k = (uint32_t)(g_cut_at - g_written);
            fail = 1;
        }
    }
    if (g_trace) fprintf(stderr, "write %u: [%u, +%u)%s\n", (unsigned)g_writes, (unsigned)off, (unsigned)n, fail ? " cut" : "");
    /* FRAM: bytes land in order; a cut keeps the first k of them */
    if (k) memcpy(g_fram + off, src, k);
    if (g_logging) {
        if (g_log_n == g_log_cap) {
            uint32_t cap = g_log_cap ? 2 * g_log_cap : 64;
            uint32_t *p = (uint32_t *)realloc(g_log, cap * sizeof *p);
            if (p == NULL) { fprintf(stderr, "out of memory\n"); exit(1); }
            g_log = p;
            g_log_cap = cap;
        }
        g_log[g_log_n++] = n;
    }
    g_writes++;
    g_written += k;
    if (fail) longjmp(g_power, 1); /* the power is gone: nothing after the cut runs */
    return 0;
}

/* Factory-fresh FRAM holds arbitrary bytes, not zeros: fill it with a fixed pattern so the
   host cannot come to rely on a blank store. */
static void fram_erase(void)
{
    uint32_t i, x = 0x2545F491u;
    for (i = 0; i < g_fram_bytes; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        g_fram[i] = (uint8_t)(x >> 24);
    }
}

/* ---- one inference, across as many power-ons as its cuts make -------------------------- */

static w2c_inst g_inst; /* static: it must survive the longjmp of a power failure */
static int g_live;
static const pj_nv g_nv_template = { NULL, 0, fram_read, fram_write };
static pj_nv g_nv;
static uint8_t *g_input;      /* the sample the experiment's inference runs on */
static uint8_t *g_prev_input; /* --previous: the sample of the inference before it, or NULL */
static uint32_t g_input_bytes;
static int g_setup;           /* running the previous inference (no cuts) */
static int g_has_prev;
static int32_t g_commit_every = 1;
static uint32_t g_out_bytes;
static int32_t g_out_len[PJ_NUM_OUTPUTS]; /* bytes of each output, from the first instance */

static pj_module module_of(w2c_inst *i)
{
    pj_module m;
    m.ctx = i;
    m.memory = b_memory;
    m.begin = b_begin;
    m.resume = b_resume;
    m.step = b_step;
    m.commit = b_commit;
    m.dirty_count = b_dirty_count;
    m.dirty_ptr = b_dirty_ptr;
    m.dirty_len = b_dirty_len;
    m.inference_id = b_inference_id;
    m.nv_base = b_nv_base;
    m.nv_bytes = b_nv_bytes;
    m.input_ptr = b_input_ptr;
    m.input_bytes = b_input_bytes;
    m.output_ptr = b_output_ptr;
    m.output_bytes = b_output_bytes;
    m.num_inputs = PJ_NUM_INPUTS;
    m.num_outputs = PJ_NUM_OUTPUTS;
    return m;
}

/* --commit-every K: commit after every K-th task of a power-on (0: only where the module
   must, and at the end) */
static int policy(void *ctx, int32_t done)
{
    (void)ctx;
    return g_commit_every > 0 && (done + 1) % g_commit_every == 0;
}

static void fail(const char *what, int rc)
{
    fprintf(stderr, "pj_wasm2c: %s (%d)\n", what, rc);
    exit(1);
}

/* Whether the stored request's input is `input` (the request itself was checked valid). */
static int request_holds(const pj_layout *l, const uint8_t *input)
{
    uint32_t off;
    uint8_t buf[64];
    for (off = 0; off < g_input_bytes;) {
        uint32_t n = g_input_bytes - off < (uint32_t)sizeof buf ? g_input_bytes - off : (uint32_t)sizeof buf;
        if (fram_read(NULL, l->input + off, buf, n) != 0 || memcmp(buf, input + off, n) != 0) return 0;
        off += n;
    }
    return 1;
}

/*
 * One power-on, from instantiation to the outputs of the job; returns the begin() calls it
 * made. A power failure leaves it by longjmp from fram_write. The application is the one
 * of main_wamr.c: with no valid request in the store (a fresh store, or a submit cut
 * short) it samples the sensor (here: the same input) and submits it under pj_next_id();
 * after a request completes it reports the outputs and submits the next sample. With
 * --previous the store starts with a completed inference of another input, so the job
 * wanted is the request after it: a host that took that inference's saved answer for the
 * new request's (the same id again) would print the previous outputs.
 */
static uint32_t power_on_body(uint8_t *out)
{
    pj_module m;
    pj_layout l;
    pj_stats st;
    uint32_t id, off = 0, begins = 0;
    const uint8_t *input = g_setup ? g_prev_input : g_input;
    int32_t i;
    int rc;

    m = module_of(&g_inst);
    if (m.nv_base(m.ctx) != PJ_NV_BASE || (uint32_t)m.nv_bytes(m.ctx) != PJ_NV_BYTES) fail("model.h and model.wasm disagree on the region", 0);
    rc = pj_layout_for(&l, &m);
    if (rc != PJ_OK || l.total > g_fram_bytes || l.input_bytes != g_input_bytes) fail("layout", rc);

    for (;;) {
        rc = pj_request(&g_nv, &l, &id);
        if (rc == PJ_ERR_NO_REQUEST) {
            rc = pj_next_id(&m, &g_nv, &l, &id);
            if (rc == PJ_OK) rc = pj_submit(&g_nv, &l, id, input, g_input_bytes);
        }
        if (rc != PJ_OK) fail("request", rc);
        rc = pj_run(&m, &g_nv, &l, g_commit_every == 1 ? NULL : policy, NULL, &st);
        if (rc != PJ_OK) fail("pj_run", rc);
        begins += st.begins;
        /* the job wanted is the request on this sample: it is told by its input, not its
           id, so that a host handing out an id twice shows up as the wrong outputs */
        if (g_setup || !g_has_prev || request_holds(&l, g_input)) break;
        /* the previous request, done (again): report it, then submit the next sample */
        rc = pj_next_id(&m, &g_nv, &l, &id);
        if (rc == PJ_OK) rc = pj_submit(&g_nv, &l, id, input, g_input_bytes);
        if (rc != PJ_OK) fail("request", rc);
    }
    for (i = 0; i < PJ_NUM_OUTPUTS; i++) {
        uint32_t n = 0;
        const uint8_t *p = pj_output(&m, i, &n);
        if (p == NULL || n > g_out_bytes - off) fail("output out of range", (int)i);
        memcpy(out + off, p, n);
        off += n;
    }
    W2C_FREE(&g_inst);
    g_live = 0;
    return begins;
}

static uint32_t power_on(uint8_t *out)
{
    W2C_INSTANTIATE(&g_inst); /* fresh memory (data segments, zeros) and globals */
    g_live = 1;
    /* wabt's trap catcher: a trap in any module call made while this frame is live lands
       here. A trapping module is a bug, not a power failure, so it ends the program. (The
       body is a function of its own so that none of its locals live across this setjmp.) */
    if (wasm_rt_impl_try() != 0) {
        fprintf(stderr, "pj_wasm2c: the module trapped\n");
        exit(1);
    }
    return power_on_body(out);
}

typedef struct result {
    uint32_t resets, begins, unused;
} result;

/* Runs one inference on a fresh store, the k-th power-on failing at cuts[k]. The counts
   are static, not locals of this function: a longjmp back to setjmp leaves automatic
   variables modified in between indeterminate (C99 7.13.2.1). */
static result g_r;

static result infer(const cut *cuts, uint32_t ncuts, uint8_t *out)
{
    g_r.resets = g_r.begins = g_r.unused = 0;
    fram_erase();
    g_has_prev = 0;
    if (g_prev_input != NULL) {
        /* the store's history: an inference on the previous sample, at steady power */
        int logging = g_logging;
        g_logging = 0;
        g_armed = 0;
        g_setup = 1;
        if (setjmp(g_power) != 0) fail("a cut during the previous inference", 0);
        (void)power_on(out);
        g_setup = 0;
        g_has_prev = 1;
        g_logging = logging;
    }
    for (;;) {
        g_writes = 0;
        g_written = 0;
        g_armed = g_r.resets < ncuts;
        if (g_armed) g_cut = cuts[g_r.resets];
        g_cut_at = g_armed && g_cut.write < 0 ? g_cut.byte : 0;
        if (setjmp(g_power) == 0) {
            g_r.begins += power_on(out);
            break;
        }
        /* power failed: everything volatile is lost with the instance */
        if (g_live) W2C_FREE(&g_inst);
        g_live = 0;
        g_r.resets++;
    }
    g_r.unused = ncuts - g_r.resets;
    return g_r;
}

/* ---- arguments and reports -------------------------------------------------------------- */

static void usage(const char *why)
{
    fprintf(stderr, "pj_wasm2c: %s\nusage: pj_wasm2c --input in.bin [--previous prev.bin] [--commit-every K] [--trace] [--cuts C[,C...] | --every | --seed S --runs R [--max-cuts K]]\n", why);
    exit(2);
}

static uint32_t number(const char *s, const char *what)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*s == '\0' || *s == '-' || *end != '\0' || v > UINT32_MAX) usage(what);
    return (uint32_t)v;
}

/* "P:B" or "N" */
static cut parse_cut(const char *s)
{
    cut c;
    const char *colon = strchr(s, ':');
    char buf[32];
    if (colon == NULL) {
        c.write = -1;
        c.byte = number(s, "a cut is P:B or N");
        return c;
    }
    if ((size_t)(colon - s) >= sizeof buf) usage("a cut is P:B or N");
    memcpy(buf, s, (size_t)(colon - s));
    buf[colon - s] = '\0';
    c.write = (int32_t)number(buf, "a cut is P:B or N");
    if (c.write < 0) usage("a cut is P:B or N");
    c.byte = number(colon + 1, "a cut is P:B or N");
    return c;
}

static void print_run(const char *name, const cut *cuts, uint32_t ncuts, result r, const uint8_t *out)
{
    uint32_t i, off = 0;
    int32_t o;
    printf("run %s cuts ", name);
    if (ncuts == 0) printf("-");
    for (i = 0; i < ncuts; i++) {
        if (cuts[i].write >= 0) printf("%s%d:%u", i ? "," : "", (int)cuts[i].write, (unsigned)cuts[i].byte);
        else printf("%s%u", i ? "," : "", (unsigned)cuts[i].byte);
    }
    printf(" resets %u begins %u outputs ", (unsigned)r.resets, (unsigned)r.begins);
    for (o = 0; o < PJ_NUM_OUTPUTS; o++) {
        int32_t n = g_out_len[o], j;
        if (o) printf(",");
        for (j = 0; j < n; j++) printf("%02x", out[off + (uint32_t)j]);
        off += (uint32_t)n;
    }
    printf("\n");
}

static uint8_t *read_file(const char *path, uint32_t *bytes)
{
    FILE *f = fopen(path, "rb");
    long size;
    uint8_t *p;
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || (unsigned long)size > UINT32_MAX || fseek(f, 0, SEEK_SET) != 0) usage("cannot read an input file");
    *bytes = (uint32_t)size;
    p = (uint8_t *)malloc(*bytes ? *bytes : 1);
    if (p == NULL || fread(p, 1, *bytes, f) != *bytes) usage("cannot read an input file");
    fclose(f);
    return p;
}

/* xorshift32: the random cuts, reproducible from --seed */
static uint32_t g_rng;
static uint32_t rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 17;
    g_rng ^= g_rng << 5;
    return g_rng;
}

int main(int argc, char **argv)
{
    const char *input = NULL, *previous = NULL;
    cut *cuts = NULL;
    uint32_t ncuts = 0, runs = 0, max_cuts = 6, seed = 0, total, i, k = 0, mismatches = 0, resets = 0, unused = 0;
    int every = 0, seeded = 0, a;
    uint8_t *want, *got;
    pj_layout l;
    pj_module m;
    result r;

    for (a = 1; a < argc; a++) {
        const char *arg = argv[a];
        const char *val = a + 1 < argc ? argv[a + 1] : NULL;
        if (strcmp(arg, "--every") == 0) { every = 1; continue; }
        if (strcmp(arg, "--trace") == 0) { g_trace = 1; continue; }
        if (val == NULL) usage("missing value or unknown option");
        a++;
        if (strcmp(arg, "--input") == 0) input = val;
        else if (strcmp(arg, "--previous") == 0) previous = val;
        else if (strcmp(arg, "--commit-every") == 0) g_commit_every = (int32_t)number(val, "--commit-every K");
        else if (strcmp(arg, "--seed") == 0) { seed = number(val, "--seed S"); seeded = 1; }
        else if (strcmp(arg, "--runs") == 0) runs = number(val, "--runs R");
        else if (strcmp(arg, "--max-cuts") == 0) max_cuts = number(val, "--max-cuts K");
        else if (strcmp(arg, "--cuts") == 0) {
            const char *s = val;
            while (*s) {
                const char *comma = strchr(s, ',');
                size_t len = comma ? (size_t)(comma - s) : strlen(s);
                char buf[48];
                cut *p;
                if (len == 0 || len >= sizeof buf) usage("--cuts C[,C...]");
                memcpy(buf, s, len);
                buf[len] = '\0';
                p = (cut *)realloc(cuts, (ncuts + 1) * sizeof *cuts);
                if (p == NULL) fail("out of memory", 0);
                cuts = p;
                cuts[ncuts++] = parse_cut(buf);
                s += len + (comma ? 1 : 0);
            }
        } else usage("unknown option");
    }
    if (input == NULL) usage("--input in.bin is required");
    if ((every != 0) + (seeded != 0) + (ncuts != 0) > 1) usage("choose one of --cuts, --every, --seed");
    if (seeded && (runs == 0 || max_cuts == 0)) usage("--seed needs --runs R >= 1 and --max-cuts K >= 1");
    if (g_commit_every < 0) usage("--commit-every K");

    g_input = read_file(input, &g_input_bytes);
    if (previous != NULL) {
        uint32_t n;
        g_prev_input = read_file(previous, &n);
        if (n != g_input_bytes) usage("--previous and --input differ in size");
    }

    wasm_rt_init();
    W2C_INIT_MODULE();

    /* sizes from a first instance: the store holds the host's request and the region image */
    W2C_INSTANTIATE(&g_inst);
    m = module_of(&g_inst);
    if (pj_layout_for(&l, &m) != PJ_OK) fail("layout", 0);
    if (l.input_bytes != g_input_bytes) {
        fprintf(stderr, "pj_wasm2c: --input has %u bytes; the module's inputs take %u\n", (unsigned)g_input_bytes, (unsigned)l.input_bytes);
        return 2;
    }
    g_out_bytes = 0;
    for (a = 0; a < PJ_NUM_OUTPUTS; a++) {
        g_out_len[a] = as_i32(W2C(output_bytes)(&g_inst, (uint32_t)a));
        if (g_out_len[a] < 0) fail("output_bytes", a);
        g_out_bytes += (uint32_t)g_out_len[a];
    }
    W2C_FREE(&g_inst);
    g_fram_bytes = l.total;
    g_fram = (uint8_t *)malloc(g_fram_bytes);
    want = (uint8_t *)malloc(g_out_bytes ? g_out_bytes : 1);
    got = (uint8_t *)malloc(g_out_bytes ? g_out_bytes : 1);
    if (g_fram == NULL || want == NULL || got == NULL) fail("out of memory", 0);
    g_nv = g_nv_template;
    g_nv.bytes = g_fram_bytes;

    /* the failure-free run: the answer every other run must give, and the writes to cut */
    g_logging = 1;
    r = infer(NULL, 0, want);
    g_logging = 0;
    print_run("steady", NULL, 0, r, want);
    total = 0;
    for (i = 0; i < g_log_n; i++) total += g_log[i];

    if (every) {
        /* every byte of every write: cut after b bytes of write p, b < its length */
        uint32_t p, b;
        cut c;
        for (p = 0; p < g_log_n; p++)
            for (b = 0; b < g_log[p]; b++) {
                char name[16];
                c.write = (int32_t)p;
                c.byte = b;
                r = infer(&c, 1, got);
                snprintf(name, sizeof name, "%u", (unsigned)k++);
                print_run(name, &c, 1, r, got);
                mismatches += memcmp(got, want, g_out_bytes) != 0;
                resets += r.resets;
                unused += r.unused;
            }
    } else if (seeded) {
        g_rng = seed * 2654435761u + 1u;
        if (g_rng == 0) g_rng = 1;
        if (total == 0) fail("the failure-free run wrote nothing", 0);
        cuts = (cut *)malloc(max_cuts * sizeof *cuts);
        if (cuts == NULL) fail("out of memory", 0);
        for (k = 0; k < runs; k++) {
            char name[16];
            /* each cut within the first total/ncuts bytes of its power-on: together they
               stay within what one failure-free inference writes, so the inference
               rarely finishes before its last cut */
            uint32_t span;
            ncuts = 1 + rnd() % max_cuts;
            span = total / ncuts ? total / ncuts : 1;
            for (i = 0; i < ncuts; i++) {
                cuts[i].write = -1;
                cuts[i].byte = rnd() % span;
            }
            r = infer(cuts, ncuts, got);
            snprintf(name, sizeof name, "%u", (unsigned)k);
            print_run(name, cuts, ncuts, r, got);
            mismatches += memcmp(got, want, g_out_bytes) != 0;
            resets += r.resets;
            unused += r.unused;
        }
    } else if (ncuts) {
        r = infer(cuts, ncuts, got);
        print_run("0", cuts, ncuts, r, got);
        mismatches += memcmp(got, want, g_out_bytes) != 0;
        resets += r.resets;
        unused += r.unused;
        k = 1;
    }
    printf("summary runs %u resets %u unused %u mismatches %u writes %u bytes %u\n", (unsigned)k, (unsigned)resets, (unsigned)unused, (unsigned)mismatches, (unsigned)g_log_n, (unsigned)total);
    free(cuts);
    free(g_log);
    free(g_fram);
    free(want);
    free(got);
    free(g_input);
    free(g_prev_input);
    wasm_rt_free();
    return mismatches ? 1 : 0;
}
