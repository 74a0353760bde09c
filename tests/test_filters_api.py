"""Filters CRUD: GET/POST /users/{user}/filters, GET/PUT/DELETE /users/{user}/filters/{filter},
and GET .../messages/{message}/events for a message nothing happened to yet."""

from helpers import (
    HEX24,
    ISO_DATE,
    UNKNOWN_ID,
    create_mailbox,
    err,
    inbox,
    invalid,
    make_message,
    ok,
    upload_ok,
)


def filters(api, user_id):
    return ok(api.get(f"/users/{user_id}/filters"))["results"]


def create(api, user_id, **fields):
    data = ok(api.post(f"/users/{user_id}/filters", json=fields))
    assert set(data) == {"success", "id"}
    assert HEX24.match(data["id"])
    return data["id"]


def test_create_get_and_list(api, user):
    fid = create(api, user.id, name="Flag messages from abc", query_from="abc", action_flag=True)
    data = ok(api.get(f"/users/{user.id}/filters/{fid}"))
    assert data == {
        "success": True,
        "id": fid,
        "name": "Flag messages from abc",
        "created": data["created"],
        "query_from": "abc",
        "action_flag": True,
        "disabled": False,
        # Today's WildDuck nested form, beside the flat fields of the older document.
        "query": {"from": "abc"},
        "action": {"flag": True},
    }
    assert ISO_DATE.match(data["created"])
    listed = filters(api, user.id)
    assert listed == [
        {
            "id": fid,
            "name": "Flag messages from abc",
            "query": [["from", "(abc)"]],
            "action": [["flag it"]],
            "created": data["created"],
            "disabled": False,
        }
    ]
    # The singular /user/ spelling of the spec lists the same.
    assert ok(api.get(f"/user/{user.id}/filters"))["results"] == listed


def test_listing_describes_every_query_and_action(api, user):
    box = create_mailbox(api, user.id, "Lists/Rust")
    fid = create(
        api,
        user.id,
        query_from="  Mäger   Jüri ",
        query_to="me@example.com",
        query_subject="report",
        query_text="the numbers",
        query_ha=True,
        query_size=5 * 1024 * 1024,
        action_seen=True,
        action_flag=False,
        action_delete=False,
        action_spam=True,
        action_forward="fwd@example.net",
        action_targetUrl="https://hooks.example.net:8443/in?x=1",
        action_mailbox=box,
    )
    (item,) = filters(api, user.id)
    assert item["id"] == fid
    assert item["name"] == "", "WildDuck lists an unnamed filter with an empty name"
    assert item["query"] == [
        ["from", "(Mäger Jüri)"],
        ["to", "(me@example.com)"],
        ["subject", "(report)"],
        ["has attachment"],
        [False, '"the numbers"'],
        ["larger", "5MB"],
    ]
    assert item["action"] == [
        ["mark as read"],
        ["do not flag it"],
        ["do not delete it"],
        ["mark it as spam"],
        ["forward to", "fwd@example.net"],
        ["upload to", "hooks.example.net"],
        ["move to folder", '"Lists/Rust"'],
    ]
    data = ok(api.get(f"/users/{user.id}/filters/{fid}"))
    assert data["query_from"] == "Mäger Jüri"
    assert data["query_size"] == 5 * 1024 * 1024
    assert data["query_ha"] is True
    assert data["action_mailbox"] == box
    assert data["action_targetUrl"] == "https://hooks.example.net:8443/in?x=1"
    assert data["action_forward"] == "fwd@example.net"
    assert data["action_spam"] is True and data["action_flag"] is False


def test_negative_and_false_values_are_described(api, user):
    create(api, user.id, query_ha="false", query_size="-2048", action_seen="no", action_spam=False, action_delete="yes")
    (item,) = filters(api, user.id)
    assert item["query"] == [["no attachments"], ["smaller", "2kB"]]
    assert item["action"] == [["do not mark as read"], ["delete it"], ["do not mark it as spam"]]


def test_filters_are_listed_in_creation_order(api, user):
    ids = [create(api, user.id, query_subject=f"s{i}", action_seen=True) for i in range(5)]
    assert [f["id"] for f in filters(api, user.id)] == ids


def test_update_sets_and_clears(api, user):
    fid = create(api, user.id, query_from="abc", action_flag=True)
    ok(api.put(f"/users/{user.id}/filters/{fid}", json={"query_from": "", "query_ha": True, "action_spam": True}))
    data = ok(api.get(f"/users/{user.id}/filters/{fid}"))
    assert "query_from" not in data
    assert data["query_ha"] is True
    assert data["action_spam"] is True
    assert data["action_flag"] is True
    ok(api.put(f"/users/{user.id}/filters/{fid}", json={"name": "renamed", "disabled": True, "action_flag": None}))
    data = ok(api.get(f"/users/{user.id}/filters/{fid}"))
    assert data["name"] == "renamed"
    assert data["disabled"] is True
    assert "action_flag" not in data
    (item,) = filters(api, user.id)
    assert item["disabled"] is True
    assert item["action"] == [["mark it as spam"]]


def test_update_errors(api, user):
    fid = create(api, user.id, query_from="abc", action_flag=True)
    # Nothing named.
    invalid(api.put(f"/users/{user.id}/filters/{fid}", json={}))
    # Clearing the last query or action would leave a filter matching everything or doing nothing.
    invalid(api.put(f"/users/{user.id}/filters/{fid}", json={"query_from": ""}))
    invalid(api.put(f"/users/{user.id}/filters/{fid}", json={"action_flag": ""}))
    invalid(api.put(f"/users/{user.id}/filters/{fid}", json={"action_targetUrl": "ftp://x.example/"}))
    err(api.put(f"/users/{user.id}/filters/{UNKNOWN_ID}", json={"action_seen": True}), 404, "FilterNotFound")
    # Unchanged after the failures.
    data = ok(api.get(f"/users/{user.id}/filters/{fid}"))
    assert data["query_from"] == "abc" and data["action_flag"] is True


def test_create_validation(api, user):
    base = f"/users/{user.id}/filters"
    invalid(api.post(base, json={"action_flag": True}))  # no query
    invalid(api.post(base, json={"query_from": "abc"}))  # no action
    invalid(api.post(base, json={"query_from": "", "action_flag": True}))  # empty is unset
    invalid(api.post(base, json={"query_from": "abc", "action_flag": "maybe"}))
    invalid(api.post(base, json={"query_size": "big", "action_flag": True}))
    invalid(api.post(base, json={"query_from": "x" * 256, "action_flag": True}))
    invalid(api.post(base, json={"query_from": 5, "action_flag": True}))
    invalid(api.post(base, json={"query_from": "abc", "action_forward": "not an address"}))
    invalid(api.post(base, json={"query_from": "abc", "action_mailbox": "nothex"}))
    for url in ["ftp://example.com/", "javascript:alert(1)", "/relative", "http://", "smtp://mx.example.com"]:
        body = invalid(api.post(base, json={"query_from": "abc", "action_targetUrl": url}))
        assert "action_targetUrl" in body["error"], body
    err(api.post(base, json={"query_from": "abc", "action_mailbox": UNKNOWN_ID}), 404, "MailboxNotFound")
    invalid(api.post(base, data="{not json", headers={"Content-Type": "application/json"}))
    assert filters(api, user.id) == []


def test_mailbox_of_another_user_is_refused(api, user, create_user):
    other = create_user()
    theirs = inbox(api, other.id)
    err(api.post(f"/users/{user.id}/filters", json={"query_from": "a", "action_mailbox": theirs}), 404, "MailboxNotFound")


def test_filters_of_another_user_are_not_visible(api, user, create_user):
    other = create_user()
    fid = create(api, user.id, query_from="a", action_seen=True)
    err(api.get(f"/users/{other.id}/filters/{fid}"), 404, "FilterNotFound")
    err(api.delete(f"/users/{other.id}/filters/{fid}"), 404, "FilterNotFound")
    err(api.put(f"/users/{other.id}/filters/{fid}", json={"action_seen": False}), 404, "FilterNotFound")
    assert filters(api, other.id) == []
    assert len(filters(api, user.id)) == 1


def test_delete(api, user):
    fid = create(api, user.id, query_from="abc", action_flag=True)
    assert set(ok(api.delete(f"/users/{user.id}/filters/{fid}"))) == {"success"}
    err(api.get(f"/users/{user.id}/filters/{fid}"), 404, "FilterNotFound")
    err(api.delete(f"/users/{user.id}/filters/{fid}"), 404, "FilterNotFound")
    assert filters(api, user.id) == []


def test_unknown_user_and_bad_ids(api, user):
    err(api.get(f"/users/{UNKNOWN_ID}/filters"), 404, "UserNotFound")
    err(api.post(f"/users/{UNKNOWN_ID}/filters", json={"query_from": "a", "action_seen": True}), 404, "UserNotFound")
    invalid(api.get("/users/nothex/filters"))
    invalid(api.get(f"/users/{user.id}/filters/nothex"))


def test_filter_count_is_bounded(api, user):
    # 400 filters per user; the 401st is refused.
    for i in range(400):
        r = api.post(f"/users/{user.id}/filters", json={"query_subject": f"s{i}", "action_seen": True})
        assert r.status_code == 200, r.text
    err(api.post(f"/users/{user.id}/filters", json={"query_subject": "one more", "action_seen": True}), 400, "TooManyFilters")
    assert len(filters(api, user.id)) == 400


def test_forward_targets_are_bounded(api, user):
    for i in range(20):
        create(api, user.id, query_subject=f"s{i}", action_forward=f"t{i}@example.net")
    # The same address again does not add a target.
    create(api, user.id, query_subject="again", action_forward="T0@example.net")
    err(api.post(f"/users/{user.id}/filters", json={"query_subject": "x", "action_forward": "t20@example.net"}), 400, "TooManyForwardTargets")


def test_deleting_the_user_deletes_its_filters(api, create_user):
    u = create_user()
    create(api, u.id, query_from="abc", action_flag=True)
    ok(api.delete(f"/users/{u.id}"))
    err(api.get(f"/users/{u.id}/filters"), 404, "UserNotFound")


def test_events_of_an_uploaded_message(api, user):
    box = inbox(api, user.id)
    uid = upload_ok(api, user.id, box, make_message())
    data = ok(api.get(f"/users/{user.id}/mailboxes/{box}/messages/{uid}/events"))
    assert set(data) == {"success", "id", "events"}
    assert HEX24.match(data["id"])
    assert data["events"] == []
    err(api.get(f"/users/{user.id}/mailboxes/{box}/messages/{uid + 100}/events"), 404, "MessageNotFound")
    err(api.get(f"/users/{user.id}/mailboxes/{UNKNOWN_ID}/messages/1/events"), 404, "MailboxNotFound")
    invalid(api.get(f"/users/{user.id}/mailboxes/{box}/messages/abc/events"))
