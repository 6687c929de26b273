/*
 * pj_host.h: the portable host loop for a picojoule module compiled with --intermittent
 * (docs/intermittent.md, "The host's side"). A battery-free device loses power many times
 * during one inference; the module splits inference into idempotent tasks with a progress
 * record inside a "non-volatile region" of its linear memory, and the host's job is to keep
 * that region in FRAM or flash across resets: persist what each call dirtied, in order, and
 * write it back at power-on. This file declares that loop against two small interfaces, so
 * the same code runs on a device under WAMR (main_wamr.c) and in CI under wasm2c with
 * simulated power failures (main_wasm2c.c):
 *   - pj_module: the module's exports and its linear memory, as function pointers;
 *   - pj_nv: the non-volatile store, read and write bytes at an offset.
 * Plain C99, no allocation, no undefined behaviour; every value from the module is checked
 * before it is used as an address.
 */
#ifndef PJ_HOST_H
#define PJ_HOST_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The module, as the host sees it: one instance, freshly instantiated at this power-on.
 * Every wasm i32 crosses as int32_t or uint32_t (addresses); `ctx` is the binding's own
 * state (a WAMR instance and exec env, a wasm2c instance). A binding whose runtime reports
 * a trap should not return from these: a trapping module is a bug, not a power failure,
 * and the binding stops the device (see main_wamr.c, main_wasm2c.c).
 */
typedef struct pj_module {
    void *ctx;
    /* The base of linear memory and its size in bytes. Asked again before every use, since
       a runtime may move memory that grows (a picojoule module's never grows). */
    uint8_t *(*memory)(void *ctx, uint32_t *bytes);
    void (*begin)(void *ctx, uint32_t id);
    int32_t (*resume)(void *ctx);
    int32_t (*step)(void *ctx, int32_t commit);
    void (*commit)(void *ctx);
    int32_t (*dirty_count)(void *ctx);
    uint32_t (*dirty_ptr)(void *ctx, int32_t i);
    int32_t (*dirty_len)(void *ctx, int32_t i);
    uint32_t (*inference_id)(void *ctx);
    uint32_t (*nv_base)(void *ctx);
    int32_t (*nv_bytes)(void *ctx);
    uint32_t (*input_ptr)(void *ctx, int32_t i);
    int32_t (*input_bytes)(void *ctx, int32_t i);
    uint32_t (*output_ptr)(void *ctx, int32_t i);
    int32_t (*output_bytes)(void *ctx, int32_t i);
    /* How many inputs and outputs the module has (model.h: PJ_NUM_INPUTS, PJ_NUM_OUTPUTS;
       the module exports no count). */
    int32_t num_inputs;
    int32_t num_outputs;
} pj_module;

/*
 * The non-volatile store: `bytes` bytes addressed from 0. Both return 0 on success and
 * nonzero on a device error. A write may be cut by a power failure at any byte: the bytes
 * before the cut are stored, the rest are not, and the call never returns (the device
 * resets). That is the only failure the protocol has to survive, and it does.
 *
 * FRAM (or MRAM, or battery-backed SRAM) is written byte by byte in place, so a write is a
 * plain copy: see main_wamr.c's driver stub and main_wasm2c.c's simulated FRAM.
 *
 * Flash cannot be rewritten in place: a page must be erased (to 0xFF) before it is written,
 * an erase takes milliseconds and wears the page (10k to 100k cycles), and the module
 * rewrites the same record slots on every commit. A flash port therefore keeps the region
 * as a log rather than an image: write() appends an entry [offset, length, bytes, CRC] to
 * the active page; read() rebuilds the image by replaying the entries whose CRC is intact
 * (an entry torn by a power failure fails its CRC and is dropped, which is the same as a
 * cut at that entry's first byte: the protocol survives it). When the page fills, the host
 * writes the current image compacted into the other bank (two banks, each a page or more),
 * then a small header with a sequence number and CRC marks it current, then erases the
 * old one: at every moment one bank is valid. Wear is spread over the log pages, and the
 * erase cost lands once per page rather than once per commit. README.md has the details.
 */
typedef struct pj_nv {
    void *ctx;
    uint32_t bytes;
    int (*read)(void *ctx, uint32_t offset, uint8_t *dst, uint32_t n);
    int (*write)(void *ctx, uint32_t offset, const uint8_t *src, uint32_t n);
} pj_nv;

/*
 * Where the host keeps things in the store (offsets), computed by pj_layout_init from the
 * module's input sizes and region size:
 *   [request, +16)        the host's request: magic, inference id, input bytes, check
 *   [input, +input_bytes) the inputs of that request, concatenated in input order
 *   [flag, +4)            PJ_IMAGE_MAGIC once an image of the region has been written
 *   [image, +image_bytes) the image of the region [nv_base, nv_base + nv_bytes)
 * The request and its inputs are the host's own non-volatile state: the id of the
 * inference it wants and the input it writes again if begin() never landed or resume()
 * reports the input lost.
 */
typedef struct pj_layout {
    uint32_t request;
    uint32_t input;
    uint32_t input_bytes;
    uint32_t flag;
    uint32_t image;
    uint32_t image_bytes;
    uint32_t total;
} pj_layout;

#define PJ_REQUEST_MAGIC 0x51524A50u /* "PJRQ" */
#define PJ_IMAGE_MAGIC 0x4D494A50u   /* "PJIM" */

/* Results of the functions below: 0 is success. */
enum {
    PJ_OK = 0,
    PJ_ERR_NV = 1,         /* the store reported an error */
    PJ_ERR_MODULE = 2,     /* the module broke its contract (an address outside the region, ...) */
    PJ_ERR_LAYOUT = 3,     /* the store is too small, or the module does not match the layout */
    PJ_ERR_NO_REQUEST = 4  /* no valid request in the store: submit one first */
};

/*
 * The commit policy: called before each step, with the steps already run in this power-on;
 * nonzero means commit after that task
 * (step(1)), zero means defer (step(0)). NULL commits after every task. An energy-aware
 * device commits when the energy left may not cover the next task (docs/intermittent.md).
 * The module commits on its own wherever deferring would be unsafe, and the host calls
 * commit() at the end, so any policy gives the same answer.
 */
typedef int (*pj_commit_policy)(void *ctx, int32_t steps_done);

typedef struct pj_stats {
    uint32_t begins;      /* begin() calls this power-on (0 or 1) */
    uint32_t resumed;     /* 1 when this power-on continued a saved inference */
    uint32_t steps;       /* step() calls this power-on */
    uint32_t persists;    /* store writes of dirty ranges this power-on */
    uint32_t persisted;   /* bytes in those writes */
    int32_t resume_code;  /* what resume() returned (-1 when it was not called) */
} pj_stats;

/* Fills `l` for a module with `input_bytes` bytes of inputs (all of them) and a region of
   `nv_bytes`; returns PJ_ERR_LAYOUT if the sizes overflow. */
int pj_layout_init(pj_layout *l, uint32_t input_bytes, uint32_t nv_bytes);

/* The layout for this module instance (sizes from its exports). */
int pj_layout_for(pj_layout *l, const pj_module *m);

/*
 * Stores a request: inference `id` on `input` (`bytes` bytes, all inputs concatenated).
 * The inputs are written first and the header last, with a check over both, so a request
 * torn by a power failure reads back as no request (submit it again) and never as a
 * request with the wrong input. Ids must differ from one request to the next (a counter):
 * the host tells a saved inference of the request apart from an older one by its id.
 */
int pj_submit(const pj_nv *nv, const pj_layout *l, uint32_t id, const uint8_t *input, uint32_t bytes);

/* Reads the stored request's id: PJ_OK, or PJ_ERR_NO_REQUEST when there is no valid one. */
int pj_request(const pj_nv *nv, const pj_layout *l, uint32_t *id);

/*
 * An id for the next request that no saved progress has: one more than the stored
 * request's, or when there is no valid request (a submit cut short), one more than the id
 * in the saved record of the region, the last inference begun (it restores the image and
 * asks resume() and inference_id(), so call it before pj_run, which restores again); 1 on
 * a store that never held a record. A counter in RAM would start over at every reset and
 * hand out an id the record already holds, and the host would then take that inference's
 * saved answer for the new request's.
 */
int pj_next_id(const pj_module *m, const pj_nv *nv, const pj_layout *l, uint32_t *id);

/*
 * One power-on's worth of the host loop (docs/intermittent.md): restores the saved image
 * of the region, resumes the saved inference of the stored request or begins it, runs
 * every remaining task persisting the dirty ranges after every call, commits. On PJ_OK the
 * outputs are in linear memory (pj_output). Call it at every power-on with a freshly
 * instantiated module; it returns only when the inference is done or on an error, and a
 * power failure anywhere inside it is survived by calling it again after the reset.
 */
int pj_run(const pj_module *m, const pj_nv *nv, const pj_layout *l, pj_commit_policy policy, void *policy_ctx, pj_stats *stats);

/* Output i in linear memory and its size, or NULL if the module's address is out of range. */
const uint8_t *pj_output(const pj_module *m, int32_t i, uint32_t *bytes);

#ifdef __cplusplus
}
#endif

#endif /* PJ_HOST_H */
