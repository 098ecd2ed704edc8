/* spec_internal.h - the parts of spec loading shared between runner/spec*.c. */
#ifndef PURE_SPEC_INTERNAL_H
#define PURE_SPEC_INTERNAL_H

#include "runner/spec.h"

/* spec_param.c: typed values */
int spec_get_int(const YNode *n, const char *what, int64_t lo, int64_t hi, int64_t *out, PureErr *err);
int spec_get_bool(const YNode *n, const char *what, int *out, PureErr *err);
int spec_check_keys(const YNode *map, const char *const *allowed, const char *where, PureErr *err);
/* Parses v as parameter p->def (who = "stage 'x' (kind k)" for messages); fills p and p->canon. */
int spec_parse_param(ParamValue *p, const YNode *v, const char *who, PureErr *err);
/* The registry default of p->def. */
int spec_parse_default(ParamValue *p, const char *who, PureErr *err);

/* spec_refs.c: the loop state, inputs, and the topological order */
int spec_parse_states(Spec *s, const YNode *loop, PureErr *err);
int spec_parse_inputs(Spec *s, int si, const YNode *node, PureErr *err);
int spec_order_stages(Spec *s, PureErr *err);
extern const char *const spec_section_names[3];

#endif
