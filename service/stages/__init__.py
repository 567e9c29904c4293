"""The legal stages of the province's review (Decision 24/2021/QĐ-TTg): village meeting, public posting and the
commune's recognition, per household, beside the evidence review states."""
