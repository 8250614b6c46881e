"""The changed values a change writes into its audit row are masked at the source."""

from shebao.registry.changes.calc import logged_changes

ID = "11010519491231002X"


def test_change_rows_log_masked_ids_and_mobiles_even_for_passports():
    changed = logged_changes(
        {
            "id_number": "E12345678",
            "mobile": "13800000001",
            "name": "甲",
            "legal_rep_id_number": "",
        },
        {"id_number": ID, "mobile": "13912345678", "name": "乙", "legal_rep_id_number": ID},
        ["id_number", "mobile", "name", "legal_rep_id_number"],
    )
    assert changed == {
        "id_number": ["E1*****78", "1101**********002X"],
        "mobile": ["138****0001", "139****5678"],
        "name": ["甲", "乙"],
        "legal_rep_id_number": ["", "1101**********002X"],
    }
