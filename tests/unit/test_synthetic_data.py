"""The synthetic, de-identified RNA-seq data set of runbook Step 0."""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("synthetic_rnaseq", REPO / "roles" / "storage" / "files" / "synthetic-rnaseq.py")
synthetic = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(synthetic)


@pytest.fixture(scope="module")
def data_set(tmp_path_factory):
    out = tmp_path_factory.mktemp("synthetic")
    return out, synthetic.generate(out, "my-bucket", 4, 300, 1)


def test_the_same_arguments_give_byte_identical_files(data_set, tmp_path):
    out, manifest = data_set
    again = synthetic.generate(tmp_path, "my-bucket", 4, 300, 1)
    assert [m["key"] for m in again] == [m["key"] for m in manifest]
    for first, second in zip(manifest, again):
        assert Path(first["src"]).read_bytes() == Path(second["src"]).read_bytes(), first["key"]


def test_reads_are_valid_paired_fastq_records_from_the_synthetic_genes(data_set):
    out, _manifest = data_set
    genes = {line.strip() for line in (out / "reference/synthetic/genome.fa").read_text().splitlines() if not line.startswith(">")}
    r1 = gzip.decompress((out / "raw-data/synthetic/control_rep1_R1.fastq.gz").read_bytes()).decode().splitlines()
    r2 = gzip.decompress((out / "raw-data/synthetic/control_rep1_R2.fastq.gz").read_bytes()).decode().splitlines()
    assert len(r1) == len(r2) == 4 * 300
    for index in range(0, len(r1), 4):
        header, sequence, plus, quality = r1[index : index + 4]
        assert header.startswith("@SYNTH:") and header.endswith("1:N:0:1") and plus == "+"
        assert len(sequence) == len(quality) == synthetic.READ_LENGTH and set(sequence) <= set("ACGT")
        assert r2[index].split()[0] == header.split()[0], "mates share a name"
        assert any(sequence in gene for gene in genes)
        assert any(synthetic.revcomp(r2[index + 1]) in gene for gene in genes)


def test_the_sample_sheet_names_every_pair_in_the_bucket(data_set):
    out, manifest = data_set
    lines = (out / "raw-data/synthetic/samplesheet.csv").read_text().splitlines()
    assert lines[0] == "sample,fastq_1,fastq_2,strandedness"
    assert [line.split(",")[0] for line in lines[1:]] == ["control_rep1", "control_rep2", "treated_rep1", "treated_rep2"]
    keys = {m["key"] for m in manifest}
    for line in lines[1:]:
        for uri in line.split(",")[1:3]:
            assert uri.startswith("s3://my-bucket/") and uri[len("s3://my-bucket/"):] in keys


def test_treated_samples_express_the_up_regulated_genes_more(data_set):
    control = synthetic.expression(range(12), "control")
    treated = synthetic.expression(range(12), "treated")
    assert treated[0] > control[0] and treated[4] < control[4] and treated[8] == control[8]


def test_the_gtf_describes_every_gene(data_set):
    out, _ = data_set
    gtf = (out / "reference/synthetic/genes.gtf").read_text().splitlines()
    assert len(gtf) == 3 * synthetic.GENES
    assert all(len(line.split("\t")) == 9 for line in gtf)
