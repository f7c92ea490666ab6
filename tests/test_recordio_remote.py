"""Reading RecordIO from S3: a local S3-compatible server (moto's server mode) on 127.0.0.1."""

import json
import pickle
from pathlib import Path

import pytest

from gluondata import DataLoader, RecordFileDataset, recordio
from gluondata.batchify import AsList
from gluondata.vision import ImageRecordDataset

moto_server = pytest.importorskip("moto.server", reason="moto is in the test extras")
s3fs = pytest.importorskip("s3fs", reason="s3fs is in the test extras (gluondata[remote])")

DATA = Path(__file__).parent / "data" / "mxnet-recordio"
EXPECTED = json.loads((DATA / "expected.json").read_text())


@pytest.fixture(scope="module")
def bucket():
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    with pytest.MonkeyPatch.context() as env:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": f"http://{host}:{port}",
            "NO_PROXY": "127.0.0.1,localhost",
        }.items():
            env.setenv(name, value)
        s3fs.S3FileSystem.clear_instance_cache()
        fs = s3fs.S3FileSystem()
        fs.mkdir("fixtures")
        for name in ("records.rec", "records.idx", "images.rec", "images.idx"):
            fs.pipe(f"fixtures/{name}", (DATA / name).read_bytes())
        try:
            yield "s3://fixtures"
        finally:
            s3fs.S3FileSystem.clear_instance_cache()
            server.stop()


def test_records_read_from_s3_by_key_in_batches_and_in_sequence(bucket):
    reader = recordio.MXIndexedRecordIO(f"{bucket}/records.idx", f"{bucket}/records.rec", "r")
    lengths = [e["len"] for e in EXPECTED["records"]]
    assert [len(reader.read_idx(k)) for k in reader.keys.tolist()] == lengths
    dataset = RecordFileDataset(f"{bucket}/records.rec")
    assert [len(r) for r in dataset.__getitems__([11, 3, 4, 5])] == [
        lengths[i] for i in (11, 3, 4, 5)
    ]
    reader.reset()
    assert [len(r) for r in iter(reader.read, None)] == lengths
    copy = pickle.loads(pickle.dumps(reader))
    assert len(copy.read_idx(110)) == 1 << 20 and len(reader.read_idx(100)) == 1000


def test_images_from_s3_in_worker_processes(bucket):
    dataset = ImageRecordDataset(f"{bucket}/images.rec")
    loader = DataLoader(dataset, batch_size=4, num_workers=2, batchify_fn=AsList())
    with loader:
        samples = [sample for batch in loader for sample in batch]
    assert [list(img.shape) for img, _ in samples] == [e["shape"] for e in EXPECTED["images"]]


def test_a_missing_remote_file_is_an_os_error(bucket):
    with pytest.raises(FileNotFoundError):
        recordio.MXRecordIO(f"{bucket}/nope.rec", "r")
