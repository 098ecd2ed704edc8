/* cmd_stages.c - `pure stages`: the registry's kinds, ports and typed
 * parameters, as text or as the Markdown reference in docs/pipeline-spec.md. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"

static const char *help =
    "usage: pure stages [KIND] [--markdown | --artifacts]\n"
    "\n"
    "Lists the stage kinds with their inputs, outputs (with the datasets each HDF5\n"
    "port holds) and parameters (type, default, range, doc), all from the registry\n"
    "table. --markdown prints the YAML reference section of docs/pipeline-spec.md,\n"
    "--artifacts the dataset tables of docs/artifacts.md.\n";

static const char *type_name(ParamType t) {
    static const char *n[] = {"int", "float", "bool", "string", "enum", "path", "list"};
    return (unsigned)t < 7 ? n[t] : "?";
}

static void constraint(const ParamDef *d, char *buf, size_t cap) {
    buf[0] = '\0';
    if (d->type == PT_ENUM) param_choices_str(d, buf, cap);
    else if ((d->type == PT_INT || d->type == PT_FLOAT) && d->min <= d->max)
        snprintf(buf, cap, "[%.15g, %.15g]", d->min, d->max);
}

static const char *def_text(const ParamDef *d) {
    if (!d->def) return "(required)";
    if (!d->def[0]) return "(unset)";
    return d->def;
}

/* "(N)", "ragged (N, tokens)", "attribute": the shape rule of a declared dataset. */
static const char *shape_text(const DatasetDef *d, char *buf, size_t cap) {
    switch (d->form) {
    case DS_VEC: snprintf(buf, cap, "%s (%s)", dtype_name(d->dtype), d->rows); break;
    case DS_STRINGS: snprintf(buf, cap, "str (%s)", d->rows); break;
    case DS_RAGGED:
        snprintf(buf, cap, "ragged %s (%s, %s)", dtype_name(d->dtype), d->rows, d->inner ? d->inner : "*");
        break;
    case DS_ATTR: snprintf(buf, cap, "attr %s", dtype_name(d->dtype)); break;
    case DS_ATTR_STR: snprintf(buf, cap, "attr str"); break;
    }
    return buf;
}

static void print_datasets(const DatasetDef *ds) {
    for (; ds && ds->name; ds++) {
        char sh[96];
        printf("        %-22s %-24s %s%s\n", ds->name, shape_text(ds, sh, sizeof sh), ds->optional ? "(optional) " : "",
               ds->doc ? ds->doc : "");
    }
}

/* Where the kind runs in a multi-process run (docs/distributed.md). */
static const char *ranks_text(const StageKind *k) {
    return k->ranks == STAGE_ALL_RANKS ? ", shared by every rank" : "";
}

static void print_text(const StageKind *k) {
    printf("%s (version %d%s)\n  %s\n", k->kind, k->version, ranks_text(k), k->doc ? k->doc : "");
    const PortDef *sets[2] = {k->inputs, k->outputs};
    for (int s = 0; s < 2; s++) {
        printf("  %s:", s ? "outputs" : "inputs");
        if (!sets[s] || !sets[s][0].name) printf(" none");
        printf("\n");
        for (int i = 0; sets[s] && sets[s][i].name; i++)
        {
            printf("    %-14s %-4s%s %s\n", sets[s][i].name, sets[s][i].kind == ART_DIR ? "dir" : "h5",
                   sets[s][i].optional ? " (optional)" : "", sets[s][i].doc ? sets[s][i].doc : "");
            print_datasets(sets[s][i].datasets);
        }
    }
    printf("  parameters:");
    if (!k->params || !k->params[0].name) printf(" none");
    printf("\n");
    int w = 14; /* align on the longest parameter name */
    for (int i = 0; k->params && k->params[i].name; i++)
        if ((int)strlen(k->params[i].name) > w) w = (int)strlen(k->params[i].name);
    for (int i = 0; k->params && k->params[i].name; i++) {
        const ParamDef *d = &k->params[i];
        char c[256];
        constraint(d, c, sizeof c);
        printf("    %-*s %-6s = %-10s %s%s%s\n", w, d->name, type_name(d->type), def_text(d), c, c[0] ? "  " : "",
               d->doc ? d->doc : "");
    }
}

/* Markdown table cells must not contain '|' (enum choices do). */
static void md_cell(const char *s) {
    for (; s && *s; s++) {
        if (*s == '|') fputs("\\|", stdout);
        else putchar(*s);
    }
}

static void print_markdown(const StageKind *k) {
    printf("### `%s` (version %d%s)\n\n%s\n\n", k->kind, k->version, ranks_text(k), k->doc ? k->doc : "");
    const PortDef *sets[2] = {k->inputs, k->outputs};
    for (int s = 0; s < 2; s++) {
        if (!sets[s] || !sets[s][0].name) {
            printf("%s: none.\n\n", s ? "Outputs" : "Inputs");
            continue;
        }
        printf("| %s | artifact | | |\n|---|---|---|---|\n", s ? "output" : "input");
        for (int i = 0; sets[s][i].name; i++) {
            printf("| `%s` | %s | %s | ", sets[s][i].name, sets[s][i].kind == ART_DIR ? "directory" : "HDF5",
                   sets[s][i].optional ? "optional" : (s ? "" : "required"));
            md_cell(sets[s][i].doc);
            printf(" |\n");
        }
        printf("\n");
    }
    if (!k->params || !k->params[0].name) {
        printf("Parameters: none.\n\n");
        return;
    }
    printf("| parameter | type | default | range / choices | |\n|---|---|---|---|---|\n");
    for (int i = 0; k->params[i].name; i++) {
        const ParamDef *d = &k->params[i];
        char c[256];
        constraint(d, c, sizeof c);
        printf("| `%s` | %s | ", d->name, type_name(d->type));
        if (d->def && d->def[0]) {
            printf("`");
            md_cell(d->def);
            printf("`");
        } else {
            printf("%s", def_text(d));
        }
        printf(" | ");
        md_cell(c);
        printf(" | ");
        md_cell(d->doc);
        printf(" |\n");
    }
    printf("\n");
}

/* --artifacts: each distinct dataset table once, with the ports that use it
 * (docs/artifacts.md, "Artifact contracts"). */
static void print_artifacts(const StageKind *const *all) {
    const DatasetDef *seen[64];
    int nseen = 0;
    for (int i = 0; all[i]; i++)
        for (int o = 0; all[i]->outputs && all[i]->outputs[o].name; o++) {
            const DatasetDef *ds = all[i]->outputs[o].datasets;
            int dup = !ds;
            for (int k = 0; k < nseen && !dup; k++) dup = seen[k] == ds;
            if (dup || nseen == 64) continue;
            seen[nseen++] = ds;
            printf("### `%s.%s`", all[i]->kind, all[i]->outputs[o].name);
            for (int j = 0; all[j]; j++)
                for (int q = 0; all[j]->outputs && all[j]->outputs[q].name; q++)
                    if (all[j]->outputs[q].datasets == ds && (j != i || q != o))
                        printf(", `%s.%s`", all[j]->kind, all[j]->outputs[q].name);
            printf("\n\nRead by:");
            int any = 0;
            for (int j = 0; all[j]; j++)
                for (int q = 0; all[j]->inputs && all[j]->inputs[q].name; q++)
                    if (all[j]->inputs[q].datasets == ds)
                        printf("%s `%s.%s`", any++ ? "," : "", all[j]->kind, all[j]->inputs[q].name);
            printf("%s\n\n| dataset | shape | | |\n|---|---|---|---|\n", any ? "." : " none.");
            for (; ds->name; ds++) {
                char sh[96];
                printf("| `%s` | %s | %s | ", ds->name, shape_text(ds, sh, sizeof sh), ds->optional ? "optional" : "");
                md_cell(ds->doc);
                printf(" |\n");
            }
            printf("\n");
        }
}

int cmd_stages(int argc, char **argv) {
    CliOpts o;
    int rc = cli_parse(argc, argv, "markdown artifacts", 0, help, &o);
    if (rc) return rc > 0 ? PURE_EXIT_OK : PURE_EXIT_USAGE;
    if (o.artifacts) {
        print_artifacts(cli_config()->kinds);
        return PURE_EXIT_OK;
    }
    const StageKind *const *all = cli_config()->kinds;
    if (o.spec && !stage_kind_find(all, o.spec)) {
        int n = 0;
        while (all[n]) n++;
        const char *names[128];
        for (int i = 0; i < n && i < 127; i++) names[i] = all[i]->kind;
        names[n < 127 ? n : 127] = NULL;
        char hint[128];
        fprintf(stderr, "pure stages: unknown stage kind '%s'%s\n", o.spec, suggest_hint(o.spec, names, hint, sizeof hint));
        return PURE_EXIT_USAGE;
    }
    int first = 1;
    for (int i = 0; all[i]; i++) {
        if (o.spec && strcmp(all[i]->kind, o.spec)) continue;
        if (!first && !o.markdown) printf("\n");
        first = 0;
        if (o.markdown) print_markdown(all[i]);
        else print_text(all[i]);
    }
    return PURE_EXIT_OK;
}
