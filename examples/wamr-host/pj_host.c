/*
 * pj_host.c: the host loop of docs/intermittent.md for a module compiled with
 * --intermittent, written once against pj_host.h's two interfaces (the module's exports,
 * the non-volatile store) so that the device binding (main_wamr.c) and the CI simulation
 * (main_wasm2c.c) run the same code. Why each step is there is said where it happens; the
 * short version: the module keeps nothing across a reset, so the host restores the region
 * image it saved, lets resume() say where to continue (or begins again), and after every
 * call copies the ranges the module names, in the module's order, to the store. A power
 * failure can cut any of those copies at any byte, and the module's record (two slots, each
 * validated by a hash, written last) makes every such cut safe.
 */
#include "pj_host.h"

#include <stddef.h>

/* Multi-byte values in the store are little-endian, byte by byte: no alignment or
   aliasing assumptions, and the same image on any CPU. */
static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)((v >> 8) & 0xFFu);
    p[2] = (uint8_t)((v >> 16) & 0xFFu);
    p[3] = (uint8_t)((v >> 24) & 0xFFu);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* FNV-1a, 32 bits: the request's check. It only has to catch a torn write, not an adversary. */
static uint32_t fnv(uint32_t h, const uint8_t *p, uint32_t n)
{
    uint32_t i;
    for (i = 0; i < n; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

#define FNV_SEED 2166136261u

/* Whether [p, p + n) lies inside [lo, lo + len), without overflow. */
static int inside(uint32_t p, uint32_t n, uint32_t lo, uint32_t len)
{
    return p >= lo && p - lo <= len && n <= len - (p - lo);
}

int pj_layout_init(pj_layout *l, uint32_t input_bytes, uint32_t nv_bytes)
{
    uint32_t padded;
    if (input_bytes > UINT32_MAX - 3u) return PJ_ERR_LAYOUT;
    padded = (input_bytes + 3u) & ~3u; /* keeps the flag and the image 4-byte aligned */
    if (padded > UINT32_MAX - 20u || nv_bytes > UINT32_MAX - 20u - padded) return PJ_ERR_LAYOUT;
    l->request = 0;
    l->input = 16;
    l->input_bytes = input_bytes;
    l->flag = 16 + padded;
    l->image = l->flag + 4;
    l->image_bytes = nv_bytes;
    l->total = l->image + nv_bytes;
    return PJ_OK;
}

int pj_layout_for(pj_layout *l, const pj_module *m)
{
    uint32_t total = 0;
    int32_t i, nv = m->nv_bytes(m->ctx);
    if (m->num_inputs < 1 || nv <= 0) return PJ_ERR_MODULE;
    for (i = 0; i < m->num_inputs; i++) {
        int32_t n = m->input_bytes(m->ctx, i);
        if (n <= 0 || (uint32_t)n > UINT32_MAX - total) return PJ_ERR_MODULE;
        total += (uint32_t)n;
    }
    return pj_layout_init(l, total, (uint32_t)nv);
}

int pj_submit(const pj_nv *nv, const pj_layout *l, uint32_t id, const uint8_t *input, uint32_t bytes)
{
    uint8_t head[16], idlen[8];
    if (bytes != l->input_bytes || nv->bytes < l->total) return PJ_ERR_LAYOUT;
    /* the inputs first: while they are being written the old header's check no longer
       matches them, so a cut here leaves no valid request rather than a mixed one */
    if (nv->write(nv->ctx, l->input, input, bytes) != 0) return PJ_ERR_NV;
    put32(idlen, id);
    put32(idlen + 4, bytes);
    put32(head, PJ_REQUEST_MAGIC);
    put32(head + 4, id);
    put32(head + 8, bytes);
    put32(head + 12, fnv(fnv(FNV_SEED, idlen, 8), input, bytes)); /* the check, written last */
    if (nv->write(nv->ctx, l->request, head, 16) != 0) return PJ_ERR_NV;
    return PJ_OK;
}

int pj_request(const pj_nv *nv, const pj_layout *l, uint32_t *id)
{
    uint8_t head[16], buf[64];
    uint32_t off, h;
    if (nv->bytes < l->total) return PJ_ERR_LAYOUT;
    if (nv->read(nv->ctx, l->request, head, 16) != 0) return PJ_ERR_NV;
    if (get32(head) != PJ_REQUEST_MAGIC || get32(head + 8) != l->input_bytes) return PJ_ERR_NO_REQUEST;
    h = fnv(FNV_SEED, head + 4, 8);
    for (off = 0; off < l->input_bytes;) {
        uint32_t n = l->input_bytes - off < (uint32_t)sizeof buf ? l->input_bytes - off : (uint32_t)sizeof buf;
        if (nv->read(nv->ctx, l->input + off, buf, n) != 0) return PJ_ERR_NV;
        h = fnv(h, buf, n);
        off += n;
    }
    if (h != get32(head + 12)) return PJ_ERR_NO_REQUEST;
    *id = get32(head + 4);
    return PJ_OK;
}

/* Linear memory, checked to hold the region: NULL if it does not. */
static uint8_t *memory_with_region(const pj_module *m, uint32_t base, uint32_t nvb)
{
    uint32_t size = 0;
    uint8_t *mem = m->memory(m->ctx, &size);
    if (mem == NULL || !inside(base, nvb, 0, size)) return NULL;
    return mem;
}

int pj_next_id(const pj_module *m, const pj_nv *nv, const pj_layout *l, uint32_t *id)
{
    uint8_t flag[4];
    uint8_t *mem;
    uint32_t cur, base = m->nv_base(m->ctx);
    int32_t next, nvs = m->nv_bytes(m->ctx);
    int rc = pj_request(nv, l, &cur);
    if (rc == PJ_OK) {
        /* the record holds this request's id or an older one */
        *id = cur + 1u;
        return PJ_OK;
    }
    if (rc != PJ_ERR_NO_REQUEST) return rc;
    *id = 1;
    if (nvs <= 0 || (uint32_t)nvs != l->image_bytes) return PJ_ERR_LAYOUT;
    if (nv->read(nv->ctx, l->flag, flag, 4) != 0) return PJ_ERR_NV;
    if (get32(flag) != PJ_IMAGE_MAGIC) return PJ_OK; /* no record was ever saved */
    mem = memory_with_region(m, base, (uint32_t)nvs);
    if (mem == NULL) return PJ_ERR_MODULE;
    if (nv->read(nv->ctx, l->image, mem + base, (uint32_t)nvs) != 0) return PJ_ERR_NV;
    /* -1: no valid record; anything else (a task, -2 for a lost input) read one */
    next = m->resume(m->ctx);
    if (next != -1) *id = m->inference_id(m->ctx) + 1u;
    return PJ_OK;
}

/*
 * Copies the ranges the last call dirtied to the store, in the order the module lists
 * them. The order is the protocol: task outputs, then their hashes, then the record slot,
 * so the record never describes data that is not yet in the store. Each range must lie
 * inside the region; anything else is a broken module and is refused before any byte is
 * written.
 */
static int persist(const pj_module *m, const pj_nv *nv, const pj_layout *l, uint32_t base, uint32_t nvb, pj_stats *st)
{
    int32_t i, n = m->dirty_count(m->ctx);
    if (n < 0) return PJ_ERR_MODULE;
    for (i = 0; i < n; i++) {
        uint32_t p = m->dirty_ptr(m->ctx, i);
        int32_t len = m->dirty_len(m->ctx, i);
        uint8_t *mem;
        if (len < 0 || !inside(p, (uint32_t)len, base, nvb)) return PJ_ERR_MODULE;
        if (len == 0) continue;
        mem = memory_with_region(m, base, nvb);
        if (mem == NULL) return PJ_ERR_MODULE;
        if (nv->write(nv->ctx, l->image + (p - base), mem + p, (uint32_t)len) != 0) return PJ_ERR_NV;
        st->persists++;
        st->persisted += (uint32_t)len;
    }
    return PJ_OK;
}

/* Writes the stored request's inputs at input_ptr(i), in input order. */
static int write_inputs(const pj_module *m, const pj_nv *nv, const pj_layout *l, uint32_t base, uint32_t nvb)
{
    uint32_t off = 0;
    int32_t i;
    for (i = 0; i < m->num_inputs; i++) {
        uint32_t p = m->input_ptr(m->ctx, i);
        int32_t n = m->input_bytes(m->ctx, i);
        uint8_t *mem;
        /* inputs live in the arena, which is part of the region */
        if (n <= 0 || !inside(p, (uint32_t)n, base, nvb) || (uint32_t)n > l->input_bytes - off) return PJ_ERR_MODULE;
        mem = memory_with_region(m, base, nvb);
        if (mem == NULL) return PJ_ERR_MODULE;
        if (nv->read(nv->ctx, l->input + off, mem + p, (uint32_t)n) != 0) return PJ_ERR_NV;
        off += (uint32_t)n;
    }
    return off == l->input_bytes ? PJ_OK : PJ_ERR_LAYOUT;
}

int pj_run(const pj_module *m, const pj_nv *nv, const pj_layout *l, pj_commit_policy policy, void *policy_ctx, pj_stats *st)
{
    uint32_t id = 0, base, nvb, tasks_done = 0;
    uint8_t flag[4];
    uint8_t *mem;
    int32_t next = -1, nvs, left, prev_left = INT32_MAX;
    int rc, have_image, restarted = 0;

    st->begins = st->resumed = st->steps = st->persists = st->persisted = 0;
    st->resume_code = -1;

    /* the module, the store and the layout must agree before anything is read or written */
    base = m->nv_base(m->ctx);
    nvs = m->nv_bytes(m->ctx);
    if (nvs <= 0 || (uint32_t)nvs != l->image_bytes || nv->bytes < l->total) return PJ_ERR_LAYOUT;
    nvb = (uint32_t)nvs;
    mem = memory_with_region(m, base, nvb);
    if (mem == NULL) return PJ_ERR_MODULE;

    /* what the host was asked to compute: its own non-volatile state */
    rc = pj_request(nv, l, &id);
    if (rc != PJ_OK) return rc;

    /* Restore the region. Linear memory is volatile: this instance starts from the module's
       initial memory, so every byte of progress lives in the store's image. The flag says
       an image was ever written; without it the store holds whatever the chip left there
       (resume() would almost surely reject it by its hashes, but "almost" is not needed). */
    if (nv->read(nv->ctx, l->flag, flag, 4) != 0) return PJ_ERR_NV;
    have_image = get32(flag) == PJ_IMAGE_MAGIC;
    if (have_image) {
        if (nv->read(nv->ctx, l->image, mem + base, nvb) != 0) return PJ_ERR_NV;
        /* resume() reads the record and re-hashes the inputs and outputs still needed: the
           next task (the task count when done), -1 without a valid record, -2 when an input
           was corrupted. Each task re-hashes the saved pieces it reads before it runs; a
           corrupted one makes the module restart from task 0 itself, the restart's commit
           among the dirty ranges */
        next = m->resume(m->ctx);
        st->resume_code = next;
        /* a valid record of an older request is not this request's progress */
        if (next >= 0 && m->inference_id(m->ctx) != id) next = -1;
    }

    if (next < 0) {
        /* Start: the inputs from the store, then begin(id). It commits nothing: the inputs'
           hashes and the first record of `id` go out with the first task's commit, and a
           cut before that finds no record of `id`, so the next power-on begins again. */
        rc = write_inputs(m, nv, l, base, nvb);
        if (rc != PJ_OK) return rc;
        m->begin(m->ctx, id);
        st->begins = 1;
        rc = persist(m, nv, l, base, nvb, st);
        if (rc != PJ_OK) return rc;
        /* from now on the image is worth reading back (written once per store: a cut here
           leaves the flag unset and costs one more begin at the next power-on) */
        if (!have_image) {
            put32(flag, PJ_IMAGE_MAGIC);
            if (nv->write(nv->ctx, l->flag, flag, 4) != 0) return PJ_ERR_NV;
        }
    } else {
        /* continue: persist what resume() dirtied (a restart's commit, or nothing) */
        st->resumed = 1;
        rc = persist(m, nv, l, base, nvb, st);
        if (rc != PJ_OK) return rc;
    }

    /* Every remaining task, persisting after each call: a cut loses at most the work since
       the last commit that reached the store. */
    for (;;) {
        int32_t commit = policy == NULL ? 1 : (policy(policy_ctx, (int32_t)tasks_done) != 0);
        left = m->step(m->ctx, commit);
        st->steps++;
        if (left == -2) {
            /* after a reset a task found a saved piece it reads corrupted, and the inputs it
               would restart from as well: start again from the inputs in the store */
            rc = write_inputs(m, nv, l, base, nvb);
            if (rc != PJ_OK) return rc;
            m->begin(m->ctx, id);
            st->begins++;
            rc = persist(m, nv, l, base, nvb, st);
            if (rc != PJ_OK) return rc;
            prev_left = INT32_MAX;
            continue;
        }
        /* -1: not begun; or no progress (after a resume, a task that finds a saved piece
           corrupted restarts the inference from task 0 and returns the task count: once per
           power-on, since everything later is recomputed in this one) */
        if (left < 0) return PJ_ERR_MODULE;
        if (left >= prev_left) {
            if (restarted || !st->resumed) return PJ_ERR_MODULE;
            restarted = 1;
        }
        rc = persist(m, nv, l, base, nvb, st);
        if (rc != PJ_OK) return rc;
        if (left == 0) break;
        prev_left = left;
        tasks_done++;
    }

    /* with deferred commits the last tasks are not committed yet: commit and persist (a
       no-op after step(1) calls) so that the next power-on finds the inference done */
    m->commit(m->ctx);
    return persist(m, nv, l, base, nvb, st);
}

const uint8_t *pj_output(const pj_module *m, int32_t i, uint32_t *bytes)
{
    uint32_t size = 0, p;
    int32_t n;
    uint8_t *mem;
    if (i < 0 || i >= m->num_outputs) return NULL;
    mem = m->memory(m->ctx, &size);
    p = m->output_ptr(m->ctx, i);
    n = m->output_bytes(m->ctx, i);
    if (mem == NULL || n < 0 || !inside(p, (uint32_t)n, 0, size)) return NULL;
    *bytes = (uint32_t)n;
    return mem + p;
}
