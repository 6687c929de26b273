/*
 * main_wamr.c: the intermittent host for a real device: pj_host.c's loop bound to the
 * WebAssembly Micro Runtime's embedding API (wasm_export.h) and to an SPI FRAM. It is
 * what runs at every power-on of a battery-free sensor: start WAMR, load and instantiate
 * model.wasm (or the AOT file wamrc makes of it), and hand the instance to pj_run, which
 * restores the region from FRAM and resumes or begins the inference. Nothing here survives
 * a reset but the FRAM, and nothing needs to.
 *
 * It is not built in this repository (WAMR is not a dependency); main_wasm2c.c runs the
 * same loop in CI. Written against WAMR 2.x's wasm_export.h; the one change for 1.x is
 * marked (PJ_WAMR_1X). Every "PORT:" comment is something a port fills in: the module
 * bytes, the memory pool, the SPI driver, the sensor, where results go, and the halt.
 *
 * Build sketch: compile WAMR for the target (product-mini/platforms/<os> or its CMake
 * with WAMR_BUILD_INTERP=1 or WAMR_BUILD_AOT=1, WAMR_BUILD_LIBC_BUILTIN=0,
 * WAMR_BUILD_LIBC_WASI=0: the module has no imports), then
 *   xxd -i model.wasm > model_wasm.h
 *   cc -I<wamr>/core/iwasm/include -I<model-dir> main_wamr.c pj_host.c -liwasm
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "wasm_export.h"
#include "model.h"
#include "pj_host.h"

#ifndef PJ_NV_BASE
#error "model.h has no PJ_NV_BASE: compile the model with --intermittent"
#endif

/*
 * PORT: the module. `xxd -i model.wasm` defines `unsigned char model_wasm[]` and
 * `unsigned int model_wasm_len`. WAMR's bytecode loader may write into this buffer, so it
 * must be in RAM and writable for as long as the module is loaded; an AOT file (wamrc
 * --target=thumbv7em ... -o model.aot model.wasm) built for execute-in-place can stay in
 * flash (WAMR's doc/xip.md), and must be 4-byte aligned.
 */
#include "model_wasm.h"

/* PORT: the pool WAMR allocates from: the instance's linear memory (PJ_MEMORY_PAGES of
   64 KiB) plus the runtime's own structures and the execution stack. */
#define PJ_WAMR_POOL_BYTES (PJ_MEMORY_PAGES * 65536u + 48u * 1024u)
/* the wasm operand and call stack; the kernels do not recurse */
#define PJ_WAMR_STACK_BYTES (8u * 1024u)
/* PORT: the FRAM's capacity (e.g. 32 KiB for an MB85RS256) */
#define PJ_FRAM_BYTES (32u * 1024u)
/* the bytes of all inputs together */
#if PJ_NUM_INPUTS == 1
#define PJ_HOST_INPUT_BYTES PJ_INPUT0_BYTES
#else
#error "PORT: define PJ_HOST_INPUT_BYTES as the sum of model.h's PJ_INPUTi_BYTES"
#endif

static char g_pool[PJ_WAMR_POOL_BYTES];

/* PORT: stop for good (log, then sleep or wait for a watchdog). Reached on a module trap
   or a broken contract: retrying after a reset would fail again the same way. */
static void port_halt(const char *why)
{
    printf("picojoule host halted: %s\n", why);
    for (;;) {
    }
}

/* ---- the FRAM: SPI commands of the common 8-pin parts (Fujitsu MB85RS, Cypress FM25) ---- */

/* PORT: your SPI driver. select(1) pulls chip select low, select(0) releases it. */
static void spi_select(int on) { (void)on; }
static uint8_t spi_transfer(uint8_t out) { (void)out; return 0; }

#define FRAM_WREN 0x06u  /* write enable latch: needed before every WRITE */
#define FRAM_WRITE 0x02u
#define FRAM_READ 0x03u

static void fram_address(uint32_t off)
{
    /* PORT: 2 address bytes up to 64 KiB, 3 above */
    spi_transfer((uint8_t)((off >> 8) & 0xFFu));
    spi_transfer((uint8_t)(off & 0xFFu));
}

static int fram_read(void *ctx, uint32_t off, uint8_t *dst, uint32_t n)
{
    uint32_t i;
    (void)ctx;
    if (off > PJ_FRAM_BYTES || n > PJ_FRAM_BYTES - off) return 1;
    spi_select(1);
    spi_transfer(FRAM_READ);
    fram_address(off);
    for (i = 0; i < n; i++) dst[i] = spi_transfer(0);
    spi_select(0);
    return 0;
}

/* FRAM writes each byte in place as it is clocked in, with no erase and no page buffer:
   a power failure mid-write leaves the bytes before it written and the rest untouched,
   which is exactly the tear the protocol survives. */
static int fram_write(void *ctx, uint32_t off, const uint8_t *src, uint32_t n)
{
    uint32_t i;
    (void)ctx;
    if (off > PJ_FRAM_BYTES || n > PJ_FRAM_BYTES - off) return 1;
    spi_select(1);
    spi_transfer(FRAM_WREN);
    spi_select(0);
    spi_select(1);
    spi_transfer(FRAM_WRITE);
    fram_address(off);
    for (i = 0; i < n; i++) spi_transfer(src[i]);
    spi_select(0);
    return 0;
}

/* ---- the module binding: pj_module over a WAMR instance -------------------------------- */

enum {
    F_BEGIN, F_RESUME, F_STEP, F_COMMIT, F_DIRTY_COUNT, F_DIRTY_PTR, F_DIRTY_LEN,
    F_INFERENCE_ID, F_NV_BASE, F_NV_BYTES, F_INPUT_PTR, F_INPUT_BYTES, F_OUTPUT_PTR,
    F_OUTPUT_BYTES, F_COUNT
};

static const char *const g_names[F_COUNT] = {
    "begin", "resume", "step", "commit", "dirty_count", "dirty_ptr", "dirty_len",
    "inference_id", "nv_base", "nv_bytes", "input_ptr", "input_bytes", "output_ptr",
    "output_bytes"
};

typedef struct wamr_module {
    wasm_module_inst_t inst;
    wasm_exec_env_t env;
    wasm_function_inst_t f[F_COUNT];
    uint8_t *base;  /* linear memory at app offset 0 */
    uint32_t bytes; /* its size: the module's memory never grows */
} wamr_module;

static wamr_module *wm(void *ctx) { return (wamr_module *)ctx; }

/* A wasm i32 result as a signed value, without an implementation-defined conversion. */
static int32_t as_i32(uint32_t v)
{
    return v <= (uint32_t)INT32_MAX ? (int32_t)v : -(int32_t)(UINT32_MAX - v) - 1;
}

/* Calls export f with at most one i32 argument; returns its i32 result (0 for none).
   argv[] holds the arguments in and the result out, one 32-bit cell each. */
static uint32_t call(void *ctx, int f, uint32_t argc, uint32_t arg)
{
    uint32_t argv[1];
    argv[0] = arg;
    if (!wasm_runtime_call_wasm(wm(ctx)->env, wm(ctx)->f[f], argc, argv)) {
        const char *e = wasm_runtime_get_exception(wm(ctx)->inst);
        port_halt(e != NULL ? e : g_names[f]);
    }
    return argv[0];
}

static uint8_t *b_memory(void *ctx, uint32_t *bytes) { *bytes = wm(ctx)->bytes; return wm(ctx)->base; }
static void b_begin(void *ctx, uint32_t id) { (void)call(ctx, F_BEGIN, 1, id); }
static int32_t b_resume(void *ctx) { return as_i32(call(ctx, F_RESUME, 0, 0)); }
static int32_t b_step(void *ctx, int32_t commit) { return as_i32(call(ctx, F_STEP, 1, (uint32_t)commit)); }
static void b_commit(void *ctx) { (void)call(ctx, F_COMMIT, 0, 0); }
static int32_t b_dirty_count(void *ctx) { return as_i32(call(ctx, F_DIRTY_COUNT, 0, 0)); }
static uint32_t b_dirty_ptr(void *ctx, int32_t i) { return call(ctx, F_DIRTY_PTR, 1, (uint32_t)i); }
static int32_t b_dirty_len(void *ctx, int32_t i) { return as_i32(call(ctx, F_DIRTY_LEN, 1, (uint32_t)i)); }
static uint32_t b_inference_id(void *ctx) { return call(ctx, F_INFERENCE_ID, 0, 0); }
static uint32_t b_nv_base(void *ctx) { return call(ctx, F_NV_BASE, 0, 0); }
static int32_t b_nv_bytes(void *ctx) { return as_i32(call(ctx, F_NV_BYTES, 0, 0)); }
static uint32_t b_input_ptr(void *ctx, int32_t i) { return call(ctx, F_INPUT_PTR, 1, (uint32_t)i); }
static int32_t b_input_bytes(void *ctx, int32_t i) { return as_i32(call(ctx, F_INPUT_BYTES, 1, (uint32_t)i)); }
static uint32_t b_output_ptr(void *ctx, int32_t i) { return call(ctx, F_OUTPUT_PTR, 1, (uint32_t)i); }
static int32_t b_output_bytes(void *ctx, int32_t i) { return as_i32(call(ctx, F_OUTPUT_BYTES, 1, (uint32_t)i)); }

/* Starts WAMR on the static pool and instantiates the module; halts on failure. */
static void wamr_start(wamr_module *w, pj_module *m)
{
    static char err[128];
    RuntimeInitArgs args;
    wasm_module_t mod;
    int f;

    memset(&args, 0, sizeof args);
    args.mem_alloc_type = Alloc_With_Pool; /* no malloc on the device */
    args.mem_alloc_option.pool.heap_buf = g_pool;
    args.mem_alloc_option.pool.heap_size = (uint32_t)sizeof g_pool;
    if (!wasm_runtime_full_init(&args)) port_halt("wasm_runtime_full_init");

    mod = wasm_runtime_load(model_wasm, (uint32_t)model_wasm_len, err, (uint32_t)sizeof err);
    if (mod == NULL) port_halt(err);
    /* no app heap (host_managed_heap_size 0): the module never allocates, and a heap
       would only add RAM */
    w->inst = wasm_runtime_instantiate(mod, PJ_WAMR_STACK_BYTES, 0, err, (uint32_t)sizeof err);
    if (w->inst == NULL) port_halt(err);
    w->env = wasm_runtime_create_exec_env(w->inst, PJ_WAMR_STACK_BYTES);
    if (w->env == NULL) port_halt("wasm_runtime_create_exec_env");
    for (f = 0; f < F_COUNT; f++) {
#if PJ_WAMR_1X /* WAMR before 2.0 took a signature string, unused: pass NULL */
        w->f[f] = wasm_runtime_lookup_function(w->inst, g_names[f], NULL);
#else
        w->f[f] = wasm_runtime_lookup_function(w->inst, g_names[f]);
#endif
        if (w->f[f] == NULL) port_halt(g_names[f]); /* not compiled with --intermittent? */
    }
    /* The host writes and reads the region through one native pointer: check once that
       the whole memory model.h describes is there. */
    w->bytes = PJ_MEMORY_PAGES * 65536u;
    if (!wasm_runtime_validate_app_addr(w->inst, 0, w->bytes)) port_halt("linear memory smaller than model.h says");
    w->base = (uint8_t *)wasm_runtime_addr_app_to_native(w->inst, 0);
    if (w->base == NULL) port_halt("wasm_runtime_addr_app_to_native");

    m->ctx = w;
    m->memory = b_memory;
    m->begin = b_begin;
    m->resume = b_resume;
    m->step = b_step;
    m->commit = b_commit;
    m->dirty_count = b_dirty_count;
    m->dirty_ptr = b_dirty_ptr;
    m->dirty_len = b_dirty_len;
    m->inference_id = b_inference_id;
    m->nv_base = b_nv_base;
    m->nv_bytes = b_nv_bytes;
    m->input_ptr = b_input_ptr;
    m->input_bytes = b_input_bytes;
    m->output_ptr = b_output_ptr;
    m->output_bytes = b_output_bytes;
    m->num_inputs = PJ_NUM_INPUTS;
    m->num_outputs = PJ_NUM_OUTPUTS;
}

/* ---- the application -------------------------------------------------------------------- */

/* PORT: one sample from the sensor, quantized as model.h says:
   q = clamp(round(x / PJ_INPUT0_SCALE) + PJ_INPUT0_ZERO_POINT, -128, 127). */
static void port_sample(uint8_t *input, uint32_t bytes) { memset(input, 0, bytes); }

/* PORT: where a result goes (radio, log). It may run twice for the same id: a reset after
   the report but before the next request repeats the inference's last power-on, which
   finds the inference done and reports it again. */
static void port_report(uint32_t id, int32_t output, const uint8_t *bytes, uint32_t n)
{
    uint32_t i;
    printf("inference %lu output %ld:", (unsigned long)id, (long)output);
    for (i = 0; i < n; i++) printf(" %d", (int)(int8_t)bytes[i]);
    printf("\n");
}

/* PORT: sleep until the next sample is due (and energy allows it). */
static void port_wait(void) {}

int main(void)
{
    static wamr_module w;
    static uint8_t input[PJ_HOST_INPUT_BYTES];
    pj_module m;
    pj_nv nv;
    pj_layout l;
    pj_stats st;
    uint32_t id;
    int32_t o;
    int rc;

    /* PORT: clocks, SPI, the sensor. */
    wamr_start(&w, &m);
    nv.ctx = NULL;
    nv.bytes = PJ_FRAM_BYTES;
    nv.read = fram_read;
    nv.write = fram_write;
    if (pj_layout_for(&l, &m) != PJ_OK || l.total > nv.bytes || l.input_bytes > sizeof input) port_halt("the FRAM or the input buffer is too small");

    for (;;) {
        /* no valid request: the very first power-on, or a power failure while one was
           being stored; take a sample and store it with a fresh id */
        rc = pj_request(&nv, &l, &id);
        if (rc == PJ_ERR_NO_REQUEST) {
            port_sample(input, l.input_bytes);
            /* an id the saved record does not hold (a RAM counter would restart at 1) */
            rc = pj_next_id(&m, &nv, &l, &id);
            if (rc == PJ_OK) rc = pj_submit(&nv, &l, id, input, l.input_bytes);
        }
        if (rc != PJ_OK) port_halt("the request could not be stored");

        /* resume or begin, run every task persisting as it goes: returns when done */
        rc = pj_run(&m, &nv, &l, NULL, NULL, &st);
        if (rc != PJ_OK) port_halt("pj_run");
        for (o = 0; o < PJ_NUM_OUTPUTS; o++) {
            uint32_t n = 0;
            const uint8_t *p = pj_output(&m, o, &n);
            if (p == NULL) port_halt("output out of range");
            port_report(id, o, p, n);
        }

        /* the next request replaces this one; pj_run then sees a record with an older id
           and begins afresh (the instance can be reused: begin() resets the module) */
        port_wait();
        port_sample(input, l.input_bytes);
        if (pj_next_id(&m, &nv, &l, &id) != PJ_OK || pj_submit(&nv, &l, id, input, l.input_bytes) != PJ_OK) port_halt("pj_submit");
    }
}
