"""Redemption debits: one decision per redemption, and a cancellation refunds a debit once,
into the lots it drew on."""

from datetime import UTC, date, datetime

from services.points.domain.debits import Debit, DebitBook
from services.points.domain.ledger import MemberLedger

AT = datetime(2026, 3, 11, tzinfo=UTC)
TODAY = date(2026, 3, 11)
Y26, Y27 = date(2026, 12, 31), date(2027, 12, 31)


def member(points_26: int = 300, points_27: int = 500, closed: bool = False) -> MemberLedger:
    return MemberLedger("C0000000001", points_26 + points_27, {Y26: points_26, Y27: points_27},
                        closed=closed)


def test_a_covered_request_is_debited_from_the_nearest_expiry_and_recorded():
    ledger = member()
    book = DebitBook({ledger.member_id: ledger}, [])
    decision = book.request("rdm_1", ledger.member_id, 400, TODAY, AT)
    assert (decision.debit.outcome, decision.debit.reason, decision.balance) == (
        "debited", None, 400)
    assert decision.debit.lots == {Y26: 300, Y27: 100}
    assert book.decided == [decision.debit]
    assert [(p.kind, p.points) for p in ledger.postings] == [("debit", -400)]


def test_requests_that_cannot_be_covered_are_rejected_with_a_reason():
    ledger, gone = member(), member(closed=True)
    gone.member_id = "C0000000002"
    book = DebitBook({ledger.member_id: ledger, gone.member_id: gone}, [])
    answers = [book.request("rdm_1", ledger.member_id, 801, TODAY, AT),
               book.request("rdm_2", gone.member_id, 1, TODAY, AT),
               book.request("rdm_3", "C0000000003", 1, TODAY, AT)]
    assert [(a.debit.reason, a.balance) for a in answers] == [
        ("insufficient_points", 800), ("member_closed", 800), ("unknown_member", 0)]
    assert {a.debit.outcome for a in answers} == {"rejected"}
    assert ledger.postings == [] and gone.postings == []


def test_expired_points_do_not_cover_a_debit():
    ledger = member(points_26=300, points_27=100)
    book = DebitBook({ledger.member_id: ledger}, [])
    assert book.request("rdm_1", ledger.member_id, 200, date(2027, 1, 1), AT).debit.reason == (
        "insufficient_points")


def test_a_redemption_is_decided_once_whatever_is_re_sent():
    ledger = member()
    earlier = Debit("rdm_old", ledger.member_id, 100, "rejected", "insufficient_points")
    book = DebitBook({ledger.member_id: ledger}, [earlier])
    assert book.request("rdm_old", ledger.member_id, 100, TODAY, AT) is None
    assert book.request("rdm_new", ledger.member_id, 100, TODAY, AT) is not None
    assert book.request("rdm_new", ledger.member_id, 100, TODAY, AT) is None
    assert [d.debit_id for d in book.decided] == ["rdm_new"]


def test_a_cancellation_refunds_into_the_original_lots_once():
    ledger = member()
    book = DebitBook({ledger.member_id: ledger}, [])
    book.request("rdm_1", ledger.member_id, 400, TODAY, AT)
    assert book.cancel("rdm_1", ledger.member_id, AT) == 400
    assert book.cancel("rdm_1", ledger.member_id, AT) is None
    assert (ledger.balance, ledger.lots) == (800, {Y26: 300, Y27: 500})
    assert [d.debit_id for d in book.refunded] == ["rdm_1"]
    assert book.state("rdm_1") == "refunded"


def test_a_debit_decided_earlier_is_refunded_from_its_stored_lots():
    ledger = member(points_26=0, points_27=500)
    earlier = Debit("rdm_old", ledger.member_id, 300, "debited", lots={Y26: 300})
    book = DebitBook({ledger.member_id: ledger}, [earlier])
    assert book.cancel("rdm_old", ledger.member_id, AT) == 300
    assert ledger.lots == {Y26: 300, Y27: 500}


def test_nothing_is_refunded_without_a_debit():
    ledger = member()
    rejected = Debit("rdm_no", ledger.member_id, 100, "rejected", "insufficient_points")
    refunded = Debit("rdm_done", ledger.member_id, 100, "debited", lots={Y26: 100},
                     refunded=True)
    book = DebitBook({ledger.member_id: ledger}, [rejected, refunded])
    for debit_id, state in [("rdm_none", "no debit"), ("rdm_no", "rejected"),
                            ("rdm_done", "refunded")]:
        assert book.cancel(debit_id, ledger.member_id, AT) is None
        assert book.state(debit_id) == state
    assert ledger.postings == [] and book.refunded == []


def test_a_cancellation_after_the_member_closed_is_forfeited_at_once():
    ledger = member()
    book = DebitBook({ledger.member_id: ledger}, [])
    book.request("rdm_1", ledger.member_id, 400, TODAY, AT)
    assert ledger.close(AT) == 400
    assert book.cancel("rdm_1", ledger.member_id, AT) == 400
    assert book.forfeited == {"rdm_1": 400}
    assert (ledger.balance, sum(ledger.lots.values())) == (0, 0)
    assert [(p.kind, p.reference, p.points) for p in ledger.postings] == [
        ("debit", "rdm_1", -400), ("forfeit", ledger.member_id, -400),
        ("refund", "rdm_1", 400), ("forfeit", "rdm_1", -400)]
