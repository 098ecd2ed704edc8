/* fs.h - file-system helpers: whole-file reads, atomic writes, directories.
 *
 * Atomic commit protocol used by every artifact: write `path.tmp.<pid>`,
 * fsync it, rename onto `path`, fsync the directory. A reader therefore sees
 * either the old complete file or the new complete file, never a mix.
 */
#ifndef PURE_FS_H
#define PURE_FS_H

#include <stddef.h>
#include "err.h"

/* Reads a whole file; returns a NUL-terminated buffer (caller frees) and its
 * length in *len (may be NULL). NULL + err on failure. */
char *fs_read_file(const char *path, size_t *len, PureErr *err);
/* Writes data to path atomically (tmp + fsync + rename + dir fsync). */
int fs_write_atomic(const char *path, const void *data, size_t len, PureErr *err);
/* fsync a file or directory by path. */
int fs_fsync_path(const char *path, PureErr *err);
/* fsync the directory containing path. */
int fs_fsync_parent(const char *path, PureErr *err);
/* rename + fsync of the parent directory. */
int fs_rename_durable(const char *from, const char *to, PureErr *err);
/* mkdir -p; 0 if it exists already. */
int fs_mkdir_p(const char *path, PureErr *err);
/* rm -rf; 0 if it does not exist. */
int fs_remove_all(const char *path, PureErr *err);
int fs_exists(const char *path);
int fs_is_dir(const char *path);
/* Joins a and b with one '/'; caller frees. */
char *fs_join(const char *a, const char *b);
/* Directory part of path (caller frees); "." when there is none. */
char *fs_dirname(const char *path);
/* File name without directory and without the last extension (caller frees). */
char *fs_stem(const char *path);

#endif
