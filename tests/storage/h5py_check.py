"""h5py_check.py - h5py interoperability of pure's artifact files.

  h5py_check.py read FILE   asserts the content written by test_artifact_h5py.c
  h5py_check.py write FILE  writes a file with h5py-native layouts for pure to read
Exit 77 when h5py or numpy is missing (the test is then skipped)."""
import sys

try:
    import h5py
    import numpy as np
except ImportError:
    sys.exit(77)


def check_read(path):
    with h5py.File(path, "r") as f:
        x = f["x"][()]
        assert x.dtype == np.float32 and x.shape == (2, 3), (x.dtype, x.shape)
        assert np.array_equal(x, np.arange(6, dtype=np.float32).reshape(2, 3) * 0.5)
        ids = f["ids"][()]
        assert ids.dtype == np.int64 and list(ids) == [-5, 0, 1 << 40]
        assert f["mask"].dtype == np.uint8 and list(f["mask"][()]) == [1, 0, 1]
        assert float(f["loss"][()]) == 0.25 and f["loss"].shape == ()
        # ragged: values[offsets[i]:offsets[i+1]]
        o, v = f["tokens/offsets"][()], f["tokens/values"][()]
        rows = [list(v[o[i]:o[i + 1]]) for i in range(len(o) - 1)]
        assert rows == [[1, 2], [], [3, 4, 5]], rows
        assert v.dtype == np.int32
        assert f["tokens"].attrs["pure_layout"] == b"ragged" or f["tokens"].attrs["pure_layout"] == "ragged"
        text = f["text"].asstr()[()]
        assert list(text) == ["héllo ∑", "", "two\nlines"], list(text)
        attrs = f.attrs
        kind = attrs["stage_kind"]
        kind = kind.decode() if isinstance(kind, bytes) else kind
        assert kind == "rollout", kind
        prov = attrs["note"]
        prov = prov.decode() if isinstance(prov, bytes) else prov
        assert prov == "π≈3.14", prov
        assert int(attrs["seed"]) == 1234 and float(attrs["wall_time"]) == 1.5
    print("h5py read ok")


def write(path):
    with h5py.File(path, "w") as f:
        f["i16"] = np.array([-3, 7, 300], dtype=np.int16)
        f["u32"] = np.array([1, 4000000000], dtype=np.uint32)
        f["f16"] = np.array([0.5, -2.0], dtype=np.float16)
        f["f64"] = np.array([[1.0, 2.0]], dtype=np.float64)
        f["fixed"] = np.array([b"ab", b"", b"xyz"], dtype="S3")
        f.create_dataset("vlen", data=["one", "twö"], dtype=h5py.string_dtype("utf-8"))
        g = f.create_group("rag")
        g["values"] = np.array([1.5, 2.5, 3.5], dtype=np.float32)
        g["offsets"] = np.array([0, 1, 3], dtype=np.int64)
        f.attrs["name"] = "h5py-made"
        f.attrs["count"] = np.int32(3)
        f.attrs["bytes_attr"] = np.bytes_(b"fixed")
        f.create_dataset("chunked", data=np.arange(10, dtype=np.int32), chunks=(4,), compression="gzip")
    print("h5py write ok")


if __name__ == "__main__":
    {"read": check_read, "write": write}[sys.argv[1]](sys.argv[2])
