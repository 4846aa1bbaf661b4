"""UCI HIGGS (Baldi, Sadowski & Whiteson 2014; UCI dataset 280, CC BY 4.0): 11M simulated
collision events, label (1 = signal) in column 0, then 28 kinematic features; no header."""

from pathlib import Path

from transferlab.data.files import locate_file
from transferlab.data.ordered_rows import LabelledRows
from transferlab.data.row_cache import cached_rows

KEY = "dataset.loader"
COLUMNS = [
    "lepton_pT",
    "lepton_eta",
    "lepton_phi",
    "missing_energy_magnitude",
    "missing_energy_phi",
    "jet_1_pt",
    "jet_1_eta",
    "jet_1_phi",
    "jet_1_btag",
    "jet_2_pt",
    "jet_2_eta",
    "jet_2_phi",
    "jet_2_btag",
    "jet_3_pt",
    "jet_3_eta",
    "jet_3_phi",
    "jet_3_btag",
    "jet_4_pt",
    "jet_4_eta",
    "jet_4_phi",
    "jet_4_btag",
    "m_jj",
    "m_jjj",
    "m_lv",
    "m_jlv",
    "m_bb",
    "m_wbb",
    "m_wwbb",
]


def load_higgs(path, data_dir, url, cache_dir, filename: str = "HIGGS.csv.gz") -> LabelledRows:
    """HIGGS.csv(.gz) from `path`, <data_dir>/higgs/<filename> or a download from `url`, parsed
    once into a float32 cache in `cache_dir` that later runs memory-map instead of re-parsing."""
    file = locate_file(path, data_dir, "higgs", filename, url, key=KEY)
    rows = cached_rows(
        file, Path(cache_dir).expanduser(), n_columns=1 + len(COLUMNS), label_column=0, key=f"{KEY}.path"
    )
    return LabelledRows(
        rows, label_column=0, feature_names=list(COLUMNS), class_names=["background", "signal"], source=file.name
    )
