"""Bad staffing input is refused at load time naming file, field and value; a book with fewer staff
than its staffing asks is refused with the numbers."""

from __future__ import annotations

import pytest

from loadgen.capacity.book import accounts_by_persona, check_staff
from loadgen.errors import JxcError
from loadgen.workload.staffing import Staffing, staff_of_book
from profiles.loader import ProfileError, load_profile


@pytest.mark.parametrize(("text", "field", "value"), [
    ("workload: {customer_quota: 0}", "workload.customer_quota", "got 0"),
    ("workload: {staffing: {customers_per_salesperson: 0}}", "workload.staffing.customers_per_salesperson", "got 0"),
    ("workload: {customer_zipf: 7}", "workload.customer_zipf", "got 7"),
    ("workload: {customer_zipf: -1}", "workload.customer_zipf", "got -1"),
    ("workload: {weights: {sales: {fly: 1}}}", "workload.weights", "'fly'"),
    ("workload: {weights: {ceo: {report: 1}}}", "workload.weights", "'ceo'"),
    ("workload: {mix: {ceo: 1.0}, operators: 5}", "workload.mix", "'ceo'"),
    ("workload: {staffing: {online_share: 0}}", "workload.staffing.online_share", "0 puts no operator online"),
    ("workload: {staffing: {online_share: 1.5}}", "workload.staffing.online_share", "got 1.5"),
    ("workload: {think_time_s: {sales: [5, 2]}}", "workload.think_time_s", "(5, 2)"),
    ("workload: {customer_quota: 500, staffing: {customers_per_salesperson: 1000}}", "workload", "500"),
])
def test_bad_staffing_is_refused_naming_file_field_and_value(tmp_path, text, field, value):
    path = tmp_path / "bad.yaml"
    path.write_text(text + "\n")
    with pytest.raises(ProfileError) as exc:
        load_profile(path)
    message = str(exc.value)
    assert str(path) in message and field in message and value in message, message


def test_quota_and_staffing_are_one_figure(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("workload: {customer_quota: 200}\n")
    assert load_profile(path).workload.staffing.customers_per_salesperson == 200
    path.write_text("workload: {staffing: {customers_per_salesperson: 300}}\n")
    assert load_profile(path).workload.customer_quota == 300


def _book(sales: int, managers: int, clerks: int, office: int) -> dict:
    return {"operators": {
        "admin": ["admin"] + [f"office{i:04d}" for i in range(office, 0, -1)],
        "sales": [f"sales{i:06d}" for i in range(1, sales + 1)],
        "manager": [f"mgr{i:04d}" for i in range(1, managers + 1)],
        "clerk": [f"clerk{i:04d}" for i in range(1, clerks + 1)] + ["ltclerk000001"]}}


def test_a_book_with_fewer_staff_is_refused_with_the_numbers():
    staff = staff_of_book(90_000, Staffing())           # 106 sales, 11 managers, 22 clerks, 11 office
    accounts = accounts_by_persona(_book(106, 11, 22, 11))
    check_staff(accounts, staff, 90_000)               # exactly the staff: fine
    assert accounts["back_office"][0] == "office0001" and accounts["clerk"][-1] == "ltclerk000001"
    short = accounts_by_persona(_book(12, 2, 3, 1))     # a book seeded elsewhere, for 10,000 customers
    with pytest.raises(JxcError) as exc:
        check_staff(short, staff, 90_000)
    message = str(exc.value)
    assert exc.value.exit_code == 2
    assert "90,000 customers has 12 salespeople, 2 managers, 4 clerks, 1 back-office staff" in message
    assert "asks for 106 salespeople, 11 managers, 22 clerks, 11 back-office staff" in message
