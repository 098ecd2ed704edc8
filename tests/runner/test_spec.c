/* test_spec.c - runner units: YAML tree with positions, vars / extends / --set,
 * typed parameters, plan unrolling (every, loop state), fingerprints (what
 * changes them and what does not), seeds, the resolved spec round trip. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner/plan.h"

const StageKind *const *test_kinds_all(void); /* test_kinds.c */
#include "tests/check.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/rng.h"

static char tmpdir[256];

static char *write_tmp(const char *name, const char *text) {
    char *path = fs_join(tmpdir, name);
    PureErr err;
    err_clear(&err);
    if (fs_write_atomic(path, text, strlen(text), &err)) fprintf(stderr, "%s\n", err.msg);
    return path;
}

static Spec *load(const char *name, const char *text, const char *const *sets, int nsets) {
    char *path = write_tmp(name, text);
    PureErr err;
    err_clear(&err);
    Spec *s = spec_load(path, sets, nsets, test_kinds_all(), &err);
    if (!s) fprintf(stderr, "unexpected error: %s\n", err.msg);
    free(path);
    return s;
}

static void test_ydoc(void) {
    PureErr err;
    err_clear(&err);
    YNode *n = ydoc_load_string("a: 1\nb:\n  - x\n  - 'y'\nc: &k {d: ~, e: \"q\"}\nf: *k\n", "t.yaml", 1, 1, &err);
    CHECK(n && n->kind == YN_MAP && n->n == 4);
    if (!n) return;
    CHECK_STR(n->keys[1], "b");
    CHECK(n->kmarks[1].line == 2 && n->kmarks[1].col == 1);
    YNode *b = ynode_get(n, "b");
    CHECK(b->kind == YN_SEQ && b->n == 2 && b->items[1]->quoted && b->items[1]->mark.line == 4 && b->items[1]->mark.col == 5);
    CHECK(ynode_get(ynode_get(n, "c"), "d")->kind == YN_NULL);
    CHECK_STR(ynode_get(ynode_get(n, "f"), "e")->str, "q"); /* alias expanded */
    /* emit and re-read: same structure, quoted strings that look like numbers stay strings */
    YNode *q = ydoc_load_string("s: '12'\nt: 'a: b'\nu: [1, two]\nv: {}\n", "q.yaml", 1, 1, &err);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ydoc_emit(f, q);
    fclose(f);
    YNode *r = ydoc_load_string(buf, "r.yaml", 1, 1, &err);
    CHECK(r && ynode_get(r, "s")->quoted && !strcmp(ynode_get(r, "s")->str, "12"));
    CHECK(r && !strcmp(ynode_get(r, "t")->str, "a: b"));
    CHECK(r && ynode_get(r, "u")->n == 2 && ynode_get(r, "v")->kind == YN_MAP);
    free(buf);
    ynode_free(r);
    ynode_free(q);
    /* deep merge: maps key by key, lists replace */
    YNode *base = ydoc_load_string("m: {a: 1, b: [1, 2]}\nz: 0\n", "b", 1, 1, &err);
    YNode *over = ydoc_load_string("m: {b: [3], c: 4}\n", "o", 1, 1, &err);
    ynode_merge(base, over);
    YNode *m = ynode_get(base, "m");
    CHECK(m->n == 3 && !strcmp(ynode_get(m, "a")->str, "1") && ynode_get(m, "b")->n == 1 && ynode_get(base, "z"));
    ynode_free(base);
    ynode_free(n);
}

static void test_suggest(void) {
    const char *c[] = {"value", "n", "sleep_ms", "mode", NULL};
    CHECK_STR(suggest_closest("valu", c), "value");
    CHECK_STR(suggest_closest("sleepms", c), "sleep_ms");
    CHECK(suggest_closest("temperature", c) == NULL);
}

static const char *loop_spec =
    "vars: {v: 0.5, n: 6, tags: [a, b], name: run}\n"
    "seed: 9\n"
    "stages:\n"
    "  src: {kind: test_blob, n: \"${n}\", tags: \"${tags}\", note: \"${name}-${n}\", file: data.txt}\n"
    "loop:\n"
    "  iterations: 5\n"
    "  state: {w: src.out}\n"
    "  stages:\n"
    "    step: {kind: test_blob, inputs: {a: state.w}, value: \"${v}\"}\n"
    "    credit: {kind: test_blob, inputs: {a: step.out}}\n"
    "    opt: {kind: test_blob, inputs: {a: credit.out, b: state.w}}\n"
    "    ev: {kind: test_vec, every: 2, inputs: {b: opt.out}}\n"
    "  update: {w: opt.out}\n"
    "after:\n"
    "  final: {kind: test_blob, inputs: {a: loop.w}}\n";

static void test_vars_and_params(void) {
    char *data = write_tmp("data.txt", "hello");
    Spec *s = load("loop.yaml", loop_spec, NULL, 0);
    CHECK(s != NULL);
    if (!s) return;
    const SpecStage *src = &s->stages[spec_stage_index(s, "src")];
    CHECK(spec_param(src, "n")->i == 6);                      /* whole-scalar var keeps its value */
    CHECK(spec_param(src, "tags")->nlist == 2);               /* a list var stays a list */
    CHECK_STR(spec_param(src, "note")->s, "run-6");           /* pasted into text */
    CHECK_STR(spec_param(src, "mode")->s, "add");             /* default */
    CHECK(!spec_param(src, "mode")->set && spec_param(src, "n")->set);
    char real[4096];
    CHECK(realpath(data, real) && !strcmp(spec_param(src, "file")->s, real)); /* relative to the spec file */
    CHECK_STR(spec_param(&s->stages[spec_stage_index(s, "step")], "value")->canon, "0.5");
    CHECK(s->iterations == 5 && s->seed == 9 && s->nstates == 1);
    spec_free(s);
    free(data);
}

static Plan *plan_of(Spec *s) {
    PureErr err;
    err_clear(&err);
    Plan *p = plan_build(s, &err);
    if (!p) fprintf(stderr, "plan: %s\n", err.msg);
    return p;
}

static int inst_of(const Plan *p, const char *stage, int iter) {
    int si = spec_stage_index(p->spec, stage);
    return iter < 0 ? p->single[si] : p->loop_idx[si][iter];
}

static void test_plan(void) {
    Spec *s = load("loop.yaml", loop_spec, NULL, 0);
    Plan *p = s ? plan_of(s) : NULL;
    CHECK(p != NULL);
    if (!p) return;
    /* 1 + 3*5 + ev in iterations 1, 3, 4 (every 2 and the last) + 1 */
    CHECK(p->n == 1 + 15 + 3 + 1);
    CHECK(inst_of(p, "ev", 0) == -1 && inst_of(p, "ev", 1) >= 0 && inst_of(p, "ev", 4) >= 0);
    /* the loop state: iteration 0 reads the initial value, iteration i reads the update of i-1 */
    CHECK(p->insts[inst_of(p, "step", 0)].in[0] == inst_of(p, "src", -1));
    CHECK(p->insts[inst_of(p, "step", 3)].in[0] == inst_of(p, "opt", 2));
    CHECK(p->insts[inst_of(p, "opt", 3)].in[1] == inst_of(p, "opt", 2));
    CHECK(p->insts[inst_of(p, "final", -1)].in[0] == inst_of(p, "opt", 4));
    CHECK(p->insts[inst_of(p, "ev", 3)].in[0] == -1 && p->insts[inst_of(p, "ev", 3)].in[1] == inst_of(p, "opt", 3));
    /* a state updated by an `every: 2` stage keeps its last value in between */
    {
        Spec *s2 = load("every_update.yaml",
                        "stages:\n  src: {kind: test_blob}\nloop:\n  iterations: 5\n  state: {w: src.out, h: null}\n"
                        "  stages:\n    s: {kind: test_blob, inputs: {a: state.w}}\n"
                        "    e: {kind: test_blob, inputs: {a: s.out, b: state.h}, every: 2}\n"
                        "  update: {w: s.out, h: e.out}\n"
                        "after:\n  f: {kind: test_blob, inputs: {a: loop.h}}\n",
                        NULL, 0);
        Plan *p2 = s2 ? plan_of(s2) : NULL;
        CHECK(p2 != NULL);
        if (p2) {
            /* e runs in iterations 1, 3 and 4 (the last); it reads the h of the previous e, none at first */
            CHECK(inst_of(p2, "e", 0) == -1 && inst_of(p2, "e", 2) == -1);
            CHECK(p2->insts[inst_of(p2, "e", 1)].in[1] == -1);
            CHECK(p2->insts[inst_of(p2, "e", 3)].in[1] == inst_of(p2, "e", 1));
            CHECK(p2->insts[inst_of(p2, "e", 4)].in[1] == inst_of(p2, "e", 3));
            CHECK(p2->insts[inst_of(p2, "f", -1)].in[0] == inst_of(p2, "e", 4));
        }
        plan_free(p2);
        spec_free(s2);
    }
    /* every instance comes after what it reads */
    for (int i = 0; i < p->n; i++)
        for (int k = 0; k < s->stages[p->insts[i].stage].ninputs; k++) CHECK(p->insts[i].in[k] < i);
    /* seeds */
    CHECK(p->insts[inst_of(p, "credit", 2)].seed == rng_derive(9, "credit/2"));
    CHECK(p->insts[inst_of(p, "src", -1)].seed == rng_derive(9, "src/-1"));
    /* distinct fingerprints everywhere */
    for (int i = 0; i < p->n; i++)
        for (int j = i + 1; j < p->n; j++) CHECK(strcmp(p->insts[i].fp, p->insts[j].fp) != 0);
    plan_free(p);
    spec_free(s);
}

/* Which instances' fingerprints differ between the base spec and one with --set overrides. */
static int changed(const char *const *sets, int nsets, char *mask, int n) {
    Spec *a = load("loop.yaml", loop_spec, NULL, 0), *b = load("loop.yaml", loop_spec, sets, nsets);
    Plan *pa = a ? plan_of(a) : NULL, *pb = b ? plan_of(b) : NULL;
    int count = -1;
    if (pa && pb && pa->n == pb->n && pa->n <= n) {
        count = 0;
        for (int i = 0; i < pa->n; i++) {
            mask[i] = strcmp(pa->insts[i].fp, pb->insts[i].fp) != 0;
            count += mask[i];
        }
    }
    plan_free(pa);
    plan_free(pb);
    spec_free(a);
    spec_free(b);
    return count;
}

/* Adding an optional input to a kind leaves the fingerprints of specs that leave it unconnected unchanged, as a
 * parameter at its default does: test_blob with and without its optional input `b`. */
static void test_fingerprint_new_input(void) {
    extern const StageKind test_blob;
    static const PortDef only_a[] = {{"a", ART_DIR, 1, "optional directory artifact"}, {0}};
    StageKind narrow = test_blob;
    narrow.inputs = only_a;
    const StageKind *wide_kinds[] = {&test_blob, NULL}, *narrow_kinds[] = {&narrow, NULL};
    const char *text = "seed: 3\nstages:\n  s: {kind: test_blob}\n  t: {kind: test_blob, inputs: {a: s.out}}\n";
    char *path = write_tmp("optional.yaml", text);
    PureErr err;
    err_clear(&err);
    Spec *w = spec_load(path, NULL, 0, wide_kinds, &err), *n = spec_load(path, NULL, 0, narrow_kinds, &err);
    Plan *pw = w ? plan_of(w) : NULL, *pn = n ? plan_of(n) : NULL;
    CHECK(pw && pn && pw->n == 2 && pn->n == 2);
    for (int i = 0; pw && pn && i < 2; i++) CHECK_STR(pw->insts[i].fp, pn->insts[i].fp);
    /* connecting it does change t's fingerprint */
    const char *set[] = {"stages.t.inputs.b=s.out"};
    Spec *c = spec_load(path, set, 1, wide_kinds, &err);
    Plan *pc = c ? plan_of(c) : NULL;
    CHECK(pc && pw && !strcmp(pc->insts[0].fp, pw->insts[0].fp) && strcmp(pc->insts[1].fp, pw->insts[1].fp));
    plan_free(pc), plan_free(pw), plan_free(pn);
    spec_free(c), spec_free(w), spec_free(n);
    free(path);
}

static void test_fingerprints(void) {
    char mask[64];
    Spec *s = load("loop.yaml", loop_spec, NULL, 0);
    Plan *p = plan_of(s);
    /* a credit parameter: credit from iteration 0 on and everything downstream, never src or step[0] */
    const char *set1[] = {"loop.stages.credit.mode=mul"};
    CHECK(changed(set1, 1, mask, 64) == 20 - 2);
    CHECK(!mask[inst_of(p, "src", -1)] && !mask[inst_of(p, "step", 0)] && mask[inst_of(p, "credit", 0)] &&
          mask[inst_of(p, "step", 1)] && mask[inst_of(p, "final", -1)]);
    /* an `ev` parameter: only ev */
    const char *set2[] = {"loop.stages.ev.value=3"};
    CHECK(changed(set2, 1, mask, 64) == 3);
    /* keep_last does not change results; a default written out explicitly neither */
    const char *set3[] = {"loop.stages.step.keep_last=2", "loop.stages.credit.mode=add", "loop.stages.opt.value=1.0"};
    CHECK(changed(set3, 3, mask, 64) == 0);
    /* the bytes of a PT_PATH file */
    char *data = write_tmp("data.txt", "hellp");
    const char *none[] = {NULL};
    CHECK(changed(none, 0, mask, 64) == 0); /* both specs see the same new bytes */
    Spec *s2 = load("loop.yaml", loop_spec, NULL, 0);
    Plan *p2 = plan_of(s2);
    CHECK(p2 && strcmp(p->insts[0].fp, p2->insts[0].fp) != 0);
    /* the seed */
    const char *set4[] = {"seed=10"};
    CHECK(changed(set4, 1, mask, 64) == 20);
    /* the resolved spec re-loads to the same fingerprints */
    char *res = fs_join(tmpdir, "sub");
    PureErr err;
    err_clear(&err);
    fs_mkdir_p(res, &err);
    char *rpath = fs_join(res, "resolved.yaml");
    CHECK(spec_write_resolved(s2, rpath, &err) == 0);
    Spec *s3 = spec_load(rpath, NULL, 0, test_kinds_all(), &err);
    Plan *p3 = s3 ? plan_of(s3) : NULL;
    CHECK(p3 && p3->n == p2->n);
    for (int i = 0; p3 && i < p3->n; i++) CHECK_STR(p3->insts[i].fp, p2->insts[i].fp);
    plan_free(p3);
    spec_free(s3);
    free(rpath);
    free(res);
    plan_free(p2);
    spec_free(s2);
    free(data);
    plan_free(p);
    spec_free(s);
}

static void test_extends(void) {
    char *base = write_tmp("base.yaml",
                           "vars: {v: 2}\nseed: 1\nstages:\n  src: {kind: test_blob, n: 3, value: \"${v}\", tags: [a, b]}\n"
                           "  other: {kind: test_blob}\n");
    const char *derived = "extends: base.yaml\nvars: {v: 4}\nstages:\n  src: {tags: [c]}\n  extra: {kind: test_blob}\n";
    const char *sets[] = {"stages.other.n=7", "stages.new.kind=test_vec"};
    Spec *s = load("derived.yaml", derived, sets, 2);
    CHECK(s != NULL);
    if (s) {
        const SpecStage *src = &s->stages[spec_stage_index(s, "src")];
        CHECK(spec_param(src, "n")->i == 3);          /* from the base */
        CHECK(spec_param(src, "value")->f == 4);      /* the derived vars win */
        CHECK(spec_param(src, "tags")->nlist == 1);   /* lists replace */
        CHECK(spec_param(&s->stages[spec_stage_index(s, "other")], "n")->i == 7);
        CHECK(spec_stage_index(s, "extra") == 2 && spec_stage_index(s, "new") == 3);
        CHECK(s->seed == 1);
    }
    spec_free(s);
    free(base);
}

/* Big files' hashes are cached on disk by path, size, mtime and inode. */
static void test_hash_cache(void) {
    char *cache = fs_join(tmpdir, "cache");
    setenv("PURE_CACHE_DIR", cache, 1);
    size_t n = (1 << 20) + 17;
    char *big = xcalloc(n, 1);
    big[5] = 'x';
    char *path = write_tmp("big.bin", big);
    PureErr err;
    err_clear(&err);
    fs_write_atomic(path, big, n, &err);
    char real[4096], hex[65], hex2[65], want[65];
    CHECK(realpath(path, real) != NULL);
    sha256_hex(big, n, want);
    CHECK(spec_hash_path(real, hex, &err) == 0);
    CHECK_STR(hex, want);
    char *tsv = fs_join(cache, "filehash.tsv");
    char *text = fs_read_file(tsv, NULL, &err);
    CHECK(text && strstr(text, want) && strstr(text, real));
    free(text);
    /* a second hash of the unchanged file comes from the cache; a rewrite is re-hashed */
    CHECK(spec_hash_path(real, hex2, &err) == 0 && !strcmp(hex2, want));
    big[6] = 'y';
    fs_write_atomic(path, big, n, &err);
    sha256_hex(big, n, want);
    CHECK(spec_hash_path(real, hex2, &err) == 0);
    CHECK_STR(hex2, want);
    unsetenv("PURE_CACHE_DIR");
    free(tsv);
    free(path);
    free(big);
    free(cache);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/pure_test_spec_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_ydoc();
    test_suggest();
    test_vars_and_params();
    test_plan();
    test_fingerprints();
    test_fingerprint_new_input();
    test_extends();
    test_hash_cache();
    PureErr err;
    fs_remove_all(tmpdir, &err);
    return check_report("test_runner_spec");
}
