"""Word sent, without Dagster: messages name months, authorities, rules and columns but never a
figure; text from a return can inject neither a header nor markdown; each run is told once; a
channel that cannot be reached is one line, never an exception. Real SMTP and HTTP on 127.0.0.1."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from receivers import smtp_server, webhook_receiver, write_settings

from pipelines.home import DataHome
from pipelines.notify.ledger import told
from pipelines.notify.message import HeldBack, RunOutcome, compose, webhook_text
from pipelines.notify.settings import NotifySettingsError, load_settings
from pipelines.notify.tell import tell
from pipelines.shown import markdown_text

UI = "http://ui.test:3000"
HELD = HeldBack("2024-06", "E06000006", "derived_inconsistent", "cla_rate_per_10k", "consistency_rules")


def outcome(run_id: str = "run-1", **fields) -> RunOutcome:
    values = {
        "run_id": run_id,
        "job": "monthly_release",
        "months": ("2024-06",),
        "succeeded": True,
        "published": ("2024-06",),
        "held_back": (HELD,),
        **fields,
    }
    return RunOutcome(**values)


def test_the_held_back_message_names_month_authority_rule_column_and_the_checks_page():
    message = compose(outcome(), UI)
    assert message.subject == "csc-returns 2024-06: 1 return(s) held back; published 2024-06"
    assert (
        "- 2024-06 E06000006: rule derived_inconsistent [cla_rate_per_10k]: "
        f"{UI}/assets/received_returns?view=checks&checkDetail=consistency_rules"
    ) in message.lines
    assert f"Run run-1 (monthly_release): {UI}/runs/run-1" in message.lines
    # A difference from child-level records: its check is on the derived months.
    reconciled = HeldBack("2024-06", "E06000006", "child_level_reconciliation", "cla", "reconciliation_rules")
    lines = compose(outcome(held_back=(reconciled,)), UI).lines
    assert any(
        line.endswith(f"{UI}/assets/derived_months?view=checks&checkDetail=reconciliation_rules") for line in lines
    )


def test_a_refused_release_and_a_failed_run_name_the_step_never_its_error():
    refused = compose(outcome(succeeded=False, published=(), failed_step="open_data_release"), UI)
    assert "release refused" in refused.subject
    assert "The release was refused at step open_data_release: its log is in the UI." in refused.lines
    failed = compose(outcome(succeeded=False, published=(), held_back=(), failed_step="received_returns"), UI)
    assert failed.subject == "csc-returns 2024-06: run failed"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    la_code=st.text(min_size=1, max_size=40),
    column=st.one_of(st.none(), st.text(max_size=30)),
)
def test_an_attacker_naming_an_authority_cannot_break_a_line_or_write_markdown(la_code, column):
    held = HeldBack("2024-06", la_code, "derived_inconsistent", column, "consistency_rules")
    message = compose(outcome(held_back=(held,)), UI)
    assert "\n" not in message.subject and "\r" not in message.subject
    assert all("\n" not in line and "\r" not in line for line in message.lines)
    text = webhook_text(message, UI)
    for line in text.split("\n\n"):
        for word in line.split(" "):
            if word.startswith(f"{UI}/"):
                continue
            # Every markdown or Slack control character is escaped or an entity.
            unescaped = word.replace("\\\\", "")
            for character in "*_`[]()<>#|~":
                for index, found in enumerate(unescaped):
                    if found == character:
                        assert index > 0 and unescaped[index - 1] == "\\", (word, character)


def test_markdown_escaping_turns_a_link_and_a_mention_into_text():
    assert markdown_text("[click](http://evil)") == r"\[click\]\(http://evil\)"
    assert markdown_text("<!channel> & co") == r"&lt;\!channel&gt; &amp; co"


def test_each_run_is_told_once_by_email_and_webhook_and_routed_channels_get_their_authorities(tmp_path):
    home = DataHome(tmp_path / "home").ensure()
    lines: list[str] = []
    with smtp_server() as mailbox, webhook_receiver() as hook, webhook_receiver() as routed:
        write_settings(
            home.root,
            mailbox,
            hook,
            f'\n[[channel]]\nkind = "webhook"\nurl = "http://127.0.0.1:{routed.port}/x"\nauthorities = ["E09000001"]\n',
        )
        other = HeldBack("2024-06", "E09000001", "total_exceeds_part", None, "consistency_rules")
        first = tell(home, outcome(held_back=(HELD, other)), UI, lines.append)
        again = tell(home, outcome(held_back=(HELD, other)), UI, lines.append)  # a restart, a second tick
    assert list(first.values()) == ["sent", "sent", "sent"] and again == {}
    [mail] = mailbox.messages
    assert mail["Subject"] == "csc-returns 2024-06: 2 return(s) held back; published 2024-06"
    assert mailbox.recipients == [["stewards@example.org"]]
    body = mail.get_content()
    assert "E06000006: rule derived_inconsistent [cla_rate_per_10k]" in body and "E09000001" in body
    [posted] = hook.bodies
    assert set(posted) == {"text"} and "E06000006" in posted["text"]
    [routed_post] = routed.bodies
    assert "E09000001" in routed_post["text"] and "E06000006" not in routed_post["text"]
    assert told(home, "run-1")["channels"]["channel 1, email to stewards@example.org"] == "sent"
    # The webhook's URL is its secret: never in a log line.
    assert not any("SECRET" in line for line in lines)


def test_a_channel_that_cannot_be_reached_is_one_line_and_the_others_still_hear(tmp_path):
    home = DataHome(tmp_path / "home").ensure()
    lines: list[str] = []
    with webhook_receiver(status=500) as broken, webhook_receiver() as hook:
        (home.root / "notify.toml").write_text(
            '[[channel]]\nkind = "email"\nhost = "127.0.0.1"\nport = 1\nsender = "a@b.org"\nto = ["c@d.org"]\n'
            f'[[channel]]\nkind = "webhook"\nurl = "http://127.0.0.1:{broken.port}/SECRET"\n'
            f'[[channel]]\nkind = "webhook"\nurl = "http://127.0.0.1:{hook.port}/ok"\n'
        )
        answers = tell(home, outcome(), UI, lines.append)
    assert [a.split(":")[0] for a in answers.values()] == ["not sent", "not sent", "sent"]
    assert "HTTP 500" in answers["channel 2, webhook on 127.0.0.1"]
    assert len(hook.bodies) == 1 and all("\n" not in line and "SECRET" not in line for line in lines)


@pytest.mark.parametrize(
    "text",
    [
        '[[channel]]\nkind = "email"\nhost = "h"\nsender = "a@b.org"\nto = ["x@y.org\\r\\nBcc: evil@z.org"]\n',
        '[[channel]]\nkind = "webhook"\nurl = "file:///etc/passwd"\n',
        '[[channel]]\nkind = "pigeon"\n',
        "[[channel]\n",
    ],
)
def test_a_mistake_in_the_settings_is_one_line_and_nothing_is_sent(tmp_path, text):
    home = DataHome(tmp_path / "home").ensure()
    (home.root / "notify.toml").write_text(text)
    with pytest.raises(NotifySettingsError) as refused:
        load_settings(home)
    assert "\n" not in str(refused.value) and "notify.toml" in str(refused.value)
    lines: list[str] = []
    assert tell(home, outcome(), UI, lines.append) == {} and len(lines) == 1


def test_nothing_configured_nothing_sent_nothing_claimed(tmp_path):
    home = DataHome(tmp_path / "home").ensure()
    assert tell(home, outcome(), UI, print) == {} and told(home, "run-1") is None
