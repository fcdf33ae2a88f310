"""icebox/env.py, the strict readers of settings: what each accepts, and that it refuses the rest
with ImproperlyConfigured naming the variable (start-up stops instead of guessing)."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from icebox.env import env_bool, env_int, env_list, env_rate, env_str, parse_database_url

V = "ICEBOX_TEST_VARIABLE"


@pytest.fixture
def setenv(monkeypatch):
    def set_(value):
        monkeypatch.setenv(V, value)

    monkeypatch.delenv(V, raising=False)
    return set_


def _refused(reader, *args, **kwargs):
    with pytest.raises(ImproperlyConfigured) as info:
        reader(V, *args, **kwargs)
    assert V in str(info.value)
    return str(info.value)


# --- env_str ----------------------------------------------------------------------------------


def test_env_str_returns_the_value_or_the_default_when_unset_or_empty(setenv):
    assert env_str(V, "d") == "d"
    setenv("")
    assert env_str(V, "d") == "d"
    setenv(" spaced value ")
    assert env_str(V, "d") == " spaced value "


def test_env_str_refuses_a_missing_required_value(setenv):
    _refused(env_str, required=True)
    setenv("")
    assert "required" in _refused(env_str, required=True)


# --- env_bool ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["1", "true", "True", "YES", "on", " on "])
def test_env_bool_accepts_true_spellings(setenv, value):
    setenv(value)
    assert env_bool(V, False) is True


@pytest.mark.parametrize("value", ["0", "false", "FALSE", "no", "off"])
def test_env_bool_accepts_false_spellings(setenv, value):
    setenv(value)
    assert env_bool(V, True) is False


@pytest.mark.parametrize("value", ["Flase", "2", "y", "n", "enabled", "-1", "truee"])
def test_env_bool_refuses_anything_else(setenv, value):
    setenv(value)
    assert "not a boolean" in _refused(env_bool, True)


def test_env_bool_default_when_unset_or_empty(setenv):
    assert env_bool(V, True) is True
    setenv("")
    assert env_bool(V, False) is False


# --- env_int ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value,expected", [("0", 0), ("42", 42), ("-7", -7), ("+5", 5), (" 60 ", 60), ("007", 7)])
def test_env_int_accepts_ascii_integers(setenv, value, expected):
    setenv(value)
    assert env_int(V, 1) == expected


@pytest.mark.parametrize("value", ["ten", "1.5", "1e3", "0x10", "1_000", "٣", "³", "５", "1 000", "--1", ""])
def test_env_int_refuses_what_is_not_an_ascii_integer(setenv, value):
    setenv(value)
    if value == "":
        assert env_int(V, 9) == 9  # empty is unset
    else:
        assert "not an integer" in _refused(env_int, 1)


def test_env_int_refuses_a_value_below_its_minimum(setenv):
    setenv("0")
    assert "below the minimum 1" in _refused(env_int, 5, minimum=1)
    setenv("1")
    assert env_int(V, 5, minimum=1) == 1


def test_env_int_refuses_a_value_above_its_maximum(setenv):
    setenv("32")
    assert "above the maximum 31" in _refused(env_int, 8, minimum=0, maximum=31)
    setenv("31")
    assert env_int(V, 8, minimum=0, maximum=31) == 31


def test_env_int_default_when_unset(setenv):
    assert env_int(V, 50, minimum=1) == 50


# --- env_list ---------------------------------------------------------------------------------


def test_env_list_splits_on_commas_and_strips(setenv):
    setenv(" a.example , b.example,c ")
    assert env_list(V, []) == ["a.example", "b.example", "c"]


def test_env_list_default_when_unset_or_blank_and_a_copy(setenv):
    default = ["x"]
    got = env_list(V, default)
    assert got == ["x"] and got is not default
    setenv("   ")
    assert env_list(V, ["y"]) == ["y"]


@pytest.mark.parametrize("value", ["a,,b", "a,", ",a", "a, ,b"])
def test_env_list_refuses_an_empty_item(setenv, value):
    setenv(value)
    assert "empty item" in _refused(env_list, [])


# --- env_rate ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["10/minute", "1/s", "5/sec", "6000/min", "100/hour", "3/h", "7/day", "2/d", "9/second", "4/m"])
def test_env_rate_accepts_drf_rates(setenv, value):
    setenv(value)
    assert env_rate(V, "1/minute") == value


@pytest.mark.parametrize("value", ["10", "10/month", "10/mxyz", "ten/minute", "0/minute", "-1/minute", "10/", "/minute", "10/Minute", "١٠/minute", "1.5/s"])
def test_env_rate_refuses_what_drf_would_misread(setenv, value):
    setenv(value)
    assert "not a rate" in _refused(env_rate, "1/minute")


def test_env_rate_default_when_unset(setenv):
    assert env_rate(V, "10/minute") == "10/minute"


# --- parse_database_url -----------------------------------------------------------------------


def test_a_full_database_url_becomes_a_postgis_entry():
    got = parse_database_url("postgis://ice%40box:p%3Ass@db.example:6543/ice%20box?sslmode=require&connect_timeout=5")
    assert got == {
        "ENGINE": "django.contrib.gis.db.backends.postgis",
        "NAME": "ice box",
        "USER": "ice@box",
        "PASSWORD": "p:ss",
        "HOST": "db.example",
        "PORT": "6543",
        "OPTIONS": {"sslmode": "require", "connect_timeout": "5"},
    }


@pytest.mark.parametrize("scheme", ["postgis", "postgres", "postgresql", "pgsql"])
def test_every_postgresql_scheme_is_accepted(scheme):
    assert parse_database_url(f"{scheme}://u@h/db")["NAME"] == "db"


def test_no_host_means_the_local_socket():
    got = parse_database_url("postgis:///icebox")
    assert (got["HOST"], got["PORT"], got["USER"], got["PASSWORD"]) == ("", "", "", "")


@pytest.mark.parametrize(
    "url,message",
    [
        ("sqlite:///db.sqlite3", "scheme 'sqlite' is not supported"),
        ("mysql://u@h/db", "scheme 'mysql' is not supported"),
        ("icebox", "scheme '' is not supported"),
        ("postgis://u@h", "exactly one database"),
        ("postgis://u@h/", "exactly one database"),
        ("postgis://u@h/a/b", "exactly one database"),
        ("postgis://u@h:port/db", "invalid port"),
        ("postgis://u@h:99999/db", "invalid port"),
        ("postgis://u@h/db?sslmode", "not key=value"),
        ("postgis://u@h/db?=x", "not key=value"),
    ],
)
def test_a_database_url_that_is_not_one_postgresql_database_is_refused(url, message):
    with pytest.raises(ImproperlyConfigured) as info:
        parse_database_url(url)
    assert message in str(info.value)
