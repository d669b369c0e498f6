import pytest

from ingest.chunking import heading_blocks
from service.storage.documents import UploadRejected, check_upload_name


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../x.pdf", "path separators"),
        ("a/b.pdf", "path separators"),
        ("a\\b.pdf", "path separators"),
        (".hidden.pdf", "path separators"),
        ("notes.txt", "only .pdf"),
        ("", "without a file name"),
        (None, "without a file name"),
    ],
)
def test_unsafe_upload_names_are_refused(name, reason):
    with pytest.raises(UploadRejected, match=reason):
        check_upload_name(name)


def test_a_plain_name_passes():
    assert check_upload_name("Guía LLA 2024.pdf") == "Guía LLA 2024.pdf"


def test_headings_open_blocks():
    page = (
        "End of a sentence.\n2. Diagnosis\nText of the\nsection.\n"
        "Not a heading line\nas it goes on."
    )
    assert heading_blocks(page) == (
        "End of a sentence.\n\n2. Diagnosis Text of the section. Not a heading line as it goes on."
    )
