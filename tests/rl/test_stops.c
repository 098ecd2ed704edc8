/* test_stops.c - stop words (stages/common/stops.h): a stop word that is a
 * special token becomes a stop id (the official recipe's <|im_end|>,
 * <|endoftext|>), eos is always one, others stay strings. (That
 * model_generate stops on any id of stop_ids is the model tests' business.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "stages/common/stops.h"
#include "tests/check.h"
#include "tokenizer/tokenizer.h"
#include "util/fs.h"

int main(void) {
    char dir[] = "/tmp/pure_test_stops_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    PureErr err = {0};
    const char *specials[] = {"<|endoftext|>", "<|im_end|>"};
    CHECK(tokenizer_write_bytelevel(dir, specials, 2, "<|endoftext|>", "<|endoftext|>", &err) == 0);
    char *tj = fs_join(dir, "tokenizer.json");
    Tokenizer *tok = tokenizer_load(tj, &err);
    CHECK(tok != NULL);
    if (!tok) return check_report("test_stops");
    int32_t eos = tokenizer_eos_id(tok), im_end = tokenizer_token_id(tok, "<|im_end|>");
    CHECK(eos >= 0 && im_end >= 0 && eos != im_end);
    const char *words[] = {"<|im_end|>", "</s>", "<|endoftext|>", "\n\nQ:", "", "A"};
    Stops s;
    stops_init(&s, tok, words, 6);
    /* eos first, im_end once; "</s>" is no token of this vocabulary, so a string; "A" is an ordinary
     * byte token, so a string too (matched in the text, never an id) */
    CHECK(s.n_ids == 2 && s.ids[0] == eos && s.ids[1] == im_end);
    CHECK(s.n_strings == 3 && !strcmp(s.strings[0], "</s>") && !strcmp(s.strings[1], "\n\nQ:") &&
          !strcmp(s.strings[2], "A"));
    SampleConfig sc = {0};
    stops_apply(&s, &sc);
    CHECK(sc.n_stop_ids == 2 && sc.stop_ids == s.ids && sc.n_stop_strings == 3);
    stops_free(&s);
    tokenizer_free(tok);
    free(tj);
    fs_remove_all(dir, &err);
    return check_report("test_stops");
}
