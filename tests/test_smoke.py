from programme.core.access import Role


def test_home_and_public_calls_render(client):
    assert client.get("/").status_code == 200
    assert client.get("/calls").status_code == 200


def test_login_as_manager(client, make_user, login):
    make_user("boss@example.org", Role.PROGRAMME_MANAGER)
    login("boss@example.org")
    assert client.get("/manage/calls").status_code == 200
