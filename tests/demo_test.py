"""The README's demo trains by name, reloads identically and reports dead units."""

from keras_leaky import demo


def test_demo_rows():
    rows = demo.run(epochs=1)
    assert [row["activation"] for row in rows] == list(demo.NAMES)
    assert all(row["reload_identical"] for row in rows)
    assert all(0.0 <= row["dead_fraction"] <= 1.0 for row in rows)
    by_name = {row["activation"]: row for row in rows}
    assert by_name["prelu"]["params"] == by_name["relu"]["params"] + 128 + 64  # One alpha/unit.
    assert by_name["leaky_relu"]["dead_fraction"] == 0.0
    assert all(row["test_accuracy"] > 0.5 for row in rows)
