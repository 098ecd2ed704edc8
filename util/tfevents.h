/* tfevents.h - TensorBoard event files, written without TensorFlow.
 *
 * An event file is a sequence of records: u64 length (little-endian), u32
 * masked CRC-32C of those 8 bytes, the data, u32 masked CRC-32C of the data
 * (masked = ((crc >> 15) | (crc << 17)) + 0xa282ead8). Each record's data
 * is a serialized tensorflow.Event protocol buffer; the first carries
 * file_version "brain.Event:2", the others one scalar summary each
 * (Event{wall_time=1, step=2, summary=5{value=1{tag=1, simple_value=2}}}).
 * TensorBoard reads any file whose name contains "tfevents", and W&B syncs
 * them (`wandb sync DIR`).
 */
#ifndef PURE_TFEVENTS_H
#define PURE_TFEVENTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "util/err.h"

/* CRC-32C (Castagnoli), and its masked form as TFRecord stores it. */
uint32_t crc32c(const void *data, size_t n);
uint32_t crc32c_masked(const void *data, size_t n);

typedef struct TfWriter {
    FILE *f;
    char *path;
} TfWriter;

/* Creates (truncate = 1, then writes the file-version record) or appends to
 * an event file. */
int tf_open(TfWriter *w, const char *path, int truncate, double wall_time, PureErr *err);
/* One scalar: tag (e.g. "eval/accuracy"), step (iteration), value. */
int tf_scalar(TfWriter *w, const char *tag, int64_t step, double wall_time, float value, PureErr *err);
/* Flushes and closes; 0 or -1 with err naming the file (a full disk). */
int tf_close(TfWriter *w, PureErr *err);

#endif
