"""A redemption's answer is rendered straight to JSON bytes (schemas.created): the same
bytes as the dict the API shows, rendered as the HTTP layer renders JSON."""

import pytest

from services.rewards.schemas import created, render, view
from tests.unit.rewards.test_answers_and_settlements import _visit


@pytest.mark.parametrize("persons", [1, 3])
def test_the_answer_is_byte_for_byte_the_rendered_view(persons):
    visit = _visit("C1234567890", persons)  # a title with CJK characters and quotes
    assert created(visit).content == render(view(visit))
    assert created(visit, 202).status == 202
