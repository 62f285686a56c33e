"""The still-firing check against a real Alertmanager (the incident unknown to Temporal
here, so the alerts as given stand for its own state; tests/e2e cover a real incident)."""

from __future__ import annotations

import httpx
from temporalio.client import Client

from activities.alertmanager.api import AlertmanagerApi
from activities.alertmanager.firing import AlertStateActivities, StillFiring, StillFiringRequest
from activities.alertmanager.incident import IncidentAlerts
from remediator.devstack.servers import free_port
from remediator.models.alert import AlertStatus
from tests.activities.alertmanager.conftest import am_alert, case_name
from tests.activities.common import run
from tests.support.alertmanager import AlertmanagerServer, add_silence, post_alert
from tests.support.polling import eventually


def ask(*alerts: object) -> StillFiringRequest:
    return StillFiringRequest.model_validate({"incident_id": "INC-0000-unknown",
                                              "alerts": list(alerts)})


async def test_an_active_alert_is_firing(alert_state: AlertStateActivities,
                                         alertmanager: AlertmanagerServer) -> None:
    labels = {"alertname": case_name(), "service": "checkout"}
    await post_alert(alertmanager.url, labels)
    answer: StillFiring = await run(alert_state.alerts_still_firing, ask(am_alert(labels)))
    assert (answer.firing, answer.silenced, answer.act) == (True, False, True)
    assert answer.checked == ["alertmanager"]
    assert f'Alertmanager: {labels["alertname"]}{{service="checkout"}} active' in answer.detail


async def test_an_alert_resolved_in_alertmanager_is_not_firing(
        alert_state: AlertStateActivities, alertmanager: AlertmanagerServer) -> None:
    labels = {"alertname": case_name(), "service": "checkout"}
    await post_alert(alertmanager.url, labels)
    await post_alert(alertmanager.url, labels, resolved=True)
    answer: StillFiring = await run(alert_state.alerts_still_firing, ask(am_alert(labels)))
    assert (answer.firing, answer.silenced, answer.act) == (False, False, False)
    assert "is no longer active there (resolved)" in answer.detail


async def test_an_alert_alertmanager_never_held_counts_as_resolved_only_if_it_came_from_there(
        alert_state: AlertStateActivities) -> None:
    labels = {"alertname": case_name(), "service": "checkout"}
    absent: StillFiring = await run(alert_state.alerts_still_firing, ask(am_alert(labels)))
    assert not absent.firing
    from_pagerduty: StillFiring = await run(alert_state.alerts_still_firing,
                                            ask(am_alert(labels, source="pagerduty")))
    assert from_pagerduty.act, "Alertmanager not knowing a PagerDuty alert says nothing"
    assert "came from pagerduty" in from_pagerduty.detail


async def test_an_alert_silenced_in_alertmanager_is_never_acted_on(
        alert_state: AlertStateActivities, alertmanager: AlertmanagerServer) -> None:
    labels = {"alertname": case_name(), "service": "checkout"}
    await post_alert(alertmanager.url, labels)
    silence = await add_silence(alertmanager.url, labels, "alice", "deploy in progress")
    answer: StillFiring = await run(alert_state.alerts_still_firing, ask(am_alert(labels)))
    assert (answer.firing, answer.silenced, answer.act) == (True, True, False)
    assert f"silenced by {silence} (created by alice, comment 'deploy in progress'" in answer.detail


async def test_one_silenced_alert_of_two_still_firing_leaves_the_step_to_act(
        alert_state: AlertStateActivities, alertmanager: AlertmanagerServer) -> None:
    name = case_name()
    quiet, loud = {"alertname": name, "pod": "a"}, {"alertname": name, "pod": "b"}
    await post_alert(alertmanager.url, quiet)
    await post_alert(alertmanager.url, loud)
    await add_silence(alertmanager.url, quiet, "alice", "known")
    answer: StillFiring = await run(alert_state.alerts_still_firing,
                                    ask(am_alert(quiet), am_alert(loud)))
    assert (answer.firing, answer.silenced) == (True, False)
    assert "silenced by" in answer.detail and f'{name}{{pod="b"}} active' in answer.detail


async def test_an_inhibited_alert_is_treated_as_silenced(
        alert_state: AlertStateActivities, alertmanager: AlertmanagerServer) -> None:
    name, case = case_name(), case_name("case")
    target = {"alertname": name, "case": case, "inhibited": "yes"}
    await post_alert(alertmanager.url, {"alertname": case_name(), "case": case, "inhibitor": "yes"})
    await post_alert(alertmanager.url, target)

    async def inhibited() -> StillFiring | None:
        answer: StillFiring = await run(alert_state.alerts_still_firing, ask(am_alert(target)))
        return answer if answer.silenced else None

    answer = await eventually(inhibited, timeout=15, what="the inhibition")
    assert answer.firing and not answer.act
    assert "inhibited by alert(s)" in answer.detail and "(treated as silenced)" in answer.detail


async def test_unreachable_alertmanager_falls_back_to_the_incident_state_and_says_so(
        client: Client, http: httpx.AsyncClient) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    lost = AlertStateActivities(IncidentAlerts(client), AlertmanagerApi(http, url, timeout=1))
    labels = {"alertname": case_name(), "service": "checkout"}
    firing: StillFiring = await run(lost.alerts_still_firing, ask(am_alert(labels)))
    assert (firing.firing, firing.silenced, firing.alertmanager_unreachable) == (True, False, True)
    assert f"Alertmanager at {url} unreachable" in firing.detail
    assert "Alertmanager not consulted" in firing.detail and firing.checked == []
    resolved: StillFiring = await run(lost.alerts_still_firing,
                                      ask(am_alert(labels, status=AlertStatus.RESOLVED)))
    assert not resolved.firing and "every alert resolved" in resolved.detail


async def test_without_alertmanager_url_only_the_incident_is_asked(
        client: Client, http: httpx.AsyncClient) -> None:
    alone = AlertStateActivities(IncidentAlerts(client), AlertmanagerApi(http, None))
    labels = {"alertname": case_name()}
    answer: StillFiring = await run(alone.alerts_still_firing, ask(am_alert(labels)))
    assert answer.act and not answer.alertmanager_unreachable
    assert "alertmanager" not in answer.checked
