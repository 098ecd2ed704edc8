/* h5heap_check.c - validates the global heap behind a variable-length string
 * dataset before HDF5 reads it.
 *
 * Why: vlen strings live in HDF5's global heap collections, which carry no
 * checksum, and HDF5 1.10 trusts their size fields: one flipped byte there
 * makes H5Dread copy past its buffers (a crash, not an error). So for a
 * contiguous dataset we read the stored heap IDs and walk every referenced
 * collection ourselves (HDF5 file format spec, "Global Heap"), checking that
 * each object lies inside its collection, the collection inside the file and
 * each string inside its object. Datasets in other layouts (chunked, from
 * other tools) are left to HDF5. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/h5util.h"

static uint64_t le_get(const unsigned char *p, size_t n) {
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;) v = (v << 8) | p[i];
    return v;
}

typedef struct {
    uint64_t addr;          /* absolute file offset of the collection */
    unsigned char *bytes;   /* the whole collection */
    uint64_t size;
    int64_t *obj_size;      /* (nidx) object index -> its size, -2 when absent: one walk, not one per string */
    unsigned nidx;          /* 1 + the largest object index in the collection */
} Collection;

/* Walks the objects of a collection the way HDF5 does (u16 index, u16
 * refcount, u32 reserved, size, data padded to 8; index 0 is the free space,
 * whose size counts its own header), refusing any step that would stall or
 * leave the collection: HDF5 loops forever on a zero free-space size.
 * Without obj_size it finds nidx; with it, it records each object's size (a
 * repeated index: the last one wins, as HDF5's own lookup walk would find).
 * Returns 0, or -1 when the collection is malformed. */
static int walk_collection(Collection *c, size_t sz_size) {
    uint64_t hdr = 8 + sz_size, off = 8 + sz_size;
    while (off < c->size) {
        if (off + hdr > c->size) break; /* a tail too small for a header is free space */
        unsigned i = (unsigned)le_get(c->bytes + off, 2);
        uint64_t osz = le_get(c->bytes + off + 8, sz_size);
        if (osz > c->size) return -1;
        uint64_t need = i > 0 ? hdr + ((osz + 7) & ~(uint64_t)7) : osz;
        if (need < hdr || need > c->size - off) return -1;
        if (i > 0 && !c->obj_size && i >= c->nidx) c->nidx = i + 1;
        if (i > 0 && c->obj_size) c->obj_size[i] = (int64_t)osz;
        off += need;
    }
    return 0;
}

/* The size of object idx of a collection load_collection indexed; -2 when absent. */
static int64_t collection_object(const Collection *c, unsigned idx) {
    return idx > 0 && idx < c->nidx ? c->obj_size[idx] : -2;
}

/* Reads, walks and indexes a collection; 0 if well-formed. */
static int load_collection(int fd, uint64_t addr, uint64_t file_size, size_t sz_size, Collection *c) {
    unsigned char head[32];
    /* written so that no sum can wrap around: addr comes from the (unchecksummed) raw data */
    if (addr > file_size || 8 + sz_size > file_size - addr ||
        pread(fd, head, 8 + sz_size, (off_t)addr) != (ssize_t)(8 + sz_size))
        return -1;
    if (memcmp(head, "GCOL", 4) != 0 || head[4] != 1) return -1;
    uint64_t size = le_get(head + 8, sz_size);
    if (size < 8 + sz_size || size > file_size - addr) return -1;
    c->addr = addr;
    c->size = size;
    c->bytes = xmalloc(size);
    if (pread(fd, c->bytes, size, (off_t)addr) != (ssize_t)size) return -1;
    /* two walks: the first validates and sizes the index, the second fills it */
    if (walk_collection(c, sz_size) != 0) return -1;
    if (c->nidx == 0) c->nidx = 1;
    c->obj_size = xmalloc(c->nidx * sizeof(int64_t));
    for (unsigned k = 0; k < c->nidx; k++) c->obj_size[k] = -2;
    return walk_collection(c, sz_size);
}

int h5u_check_vlen_heap(Artifact *a, hid_t ds, const char *name, int64_t n, PureErr *err) {
    haddr_t raw = H5Dget_offset(ds);
    H5Eclear2(H5E_DEFAULT);
    if (n == 0 || raw == HADDR_UNDEF) return 0;
    size_t sz_addr = 8, sz_size = 8;
    hsize_t ublock = 0;
    hid_t fcpl = H5Fget_create_plist(a->file);
    if (fcpl >= 0) {
        H5Pget_sizes(fcpl, &sz_addr, &sz_size);
        H5Pget_userblock(fcpl, &ublock);
        H5Pclose(fcpl);
    }
    if (sz_addr > 8 || sz_size > 8) return 0; /* not a layout this check knows */
    int fd = open(a->path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0) close(fd);
        return err_set(err, "%s: dataset '%s': cannot reopen the file to check it", a->path, name);
    }
    uint64_t file_size = (uint64_t)st.st_size, elem = 4 + sz_addr + 4;
    uint64_t base = (uint64_t)raw + ublock, total = 0;
    int rc = 0;
    unsigned char *ids = NULL;
    Collection cols[8];
    int ncols = 0;
    if (base < (uint64_t)raw || base > file_size || (uint64_t)n > (file_size - base) / elem) {
        rc = err_set(err, "%s: dataset '%s': string data lies beyond the end of the file (damaged file)", a->path, name);
        goto done;
    }
    ids = xmalloc((size_t)n * elem);
    if (pread(fd, ids, (size_t)n * elem, (off_t)base) != (ssize_t)((size_t)n * elem)) {
        rc = err_set(err, "%s: dataset '%s': cannot read its string references", a->path, name);
        goto done;
    }
    for (int64_t i = 0; i < n && rc == 0; i++) {
        const unsigned char *p = ids + (size_t)i * elem;
        uint64_t len = le_get(p, 4), addr = le_get(p + 4, sz_addr);
        unsigned idx = (unsigned)le_get(p + 4 + sz_addr, 4);
        if (len == 0 && addr == 0) continue; /* a null string: nothing stored */
        /* many references to one heap object would multiply it in memory */
        total += len + 1;
        if (total > h5u_read_limit(a)) {
            rc = err_set(err, "%s: dataset '%s': its strings add up to more than %llu bytes, more than the file holds "
                              "(damaged or hostile file): not read", a->path, name,
                         (unsigned long long)h5u_read_limit(a));
            break;
        }
        Collection *c = NULL;
        for (int k = 0; k < ncols; k++)
            if (cols[k].addr == addr + ublock) c = &cols[k];
        if (!c && addr + ublock < addr) {
            rc = err_set(err, "%s: dataset '%s': string %lld points outside the file (damaged file)", a->path, name,
                         (long long)i);
            break;
        }
        if (!c) {
            if (ncols == 8) --ncols, free(cols[ncols].bytes), free(cols[ncols].obj_size); /* bounded cache: evict one */
            c = &cols[ncols];
            memset(c, 0, sizeof *c);
            if (load_collection(fd, addr + ublock, file_size, sz_size, c) != 0) {
                free(c->bytes), free(c->obj_size);
                rc = err_set(err, "%s: dataset '%s': string %lld points to a damaged heap collection at byte %llu",
                             a->path, name, (long long)i, (unsigned long long)(addr + ublock));
                break;
            }
            ncols++;
        }
        int64_t osz = idx > 0 ? collection_object(c, idx) : -1;
        if (osz < 0 || (uint64_t)osz < len)
            rc = err_set(err, "%s: dataset '%s': string %lld (%llu bytes) is missing from its heap collection (damaged file)",
                         a->path, name, (long long)i, (unsigned long long)len);
    }
done:
    for (int k = 0; k < ncols; k++) free(cols[k].bytes), free(cols[k].obj_size);
    free(ids);
    close(fd);
    return rc;
}
