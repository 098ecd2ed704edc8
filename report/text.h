/* text.h - putting stored text in front of a reader safely.
 *
 * Prompts, responses and spec values come from files and models, so they may
 * hold anything: terminal escape sequences, bytes that are not UTF-8, markup.
 * The terminal writer shows control characters and invalid bytes as \xNN
 * (never sends them raw); the HTML writer escapes markup and replaces invalid
 * bytes by U+FFFD, so a hostile prompt cannot inject tags or scripts.
 */
#ifndef PURE_REPORT_TEXT_H
#define PURE_REPORT_TEXT_H

#include <stddef.h>
#include <stdio.h>
#include "util/sbuf.h"

/* Length of the valid UTF-8 sequence at s (1..4), 0 when it is not one. */
int text_utf8_len(const unsigned char *s, size_t n);
/* Drops leading and trailing ASCII white space. */
void text_trim(const char **s, size_t *n);
/* n bytes of s; a newline prints as a newline followed by `indent` (NULL: "\n" shown as \n). */
void text_put_terminal(FILE *f, const char *s, size_t n, const char *indent);
/* HTML text and attribute values: & < > " ' escaped, invalid UTF-8 as U+FFFD,
 * control characters other than \n and \t dropped. */
void text_html(SBuf *b, const char *s, size_t n);
static inline void text_html_str(SBuf *b, const char *s) { text_html(b, s ? s : "", s ? strlen(s) : 0); }
/* JSON string contents (no quotes) safe inside an HTML <script>: also escapes
 * '<', '>' and '&' as \u003c..., so "</script>" cannot end the element. */
void text_json_in_html(SBuf *b, const char *s, size_t n);

#endif
