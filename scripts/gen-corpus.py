#!/usr/bin/env python3
"""Writes the analyst corpus's datasets (tests/corpus/*.csv): files shaped like public CSVs nobody here
answers questions about by hand — daily weather with slash dates, a registry with categories and
coordinates, yearly series by category, an event log with times, monthly figures with month names.
Deterministic (fixed seed): rerunning writes the same bytes."""
import csv
import datetime as dt
import os
import random

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "corpus")


def write(name, header, rows):
    with open(os.path.join(OUT, name), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def weather(r):
    rows = []
    day = dt.date(2012, 1, 1)
    while day <= dt.date(2015, 12, 31):
        season = abs(day.month - 7)
        kind = r.choices(["rain", "sun", "drizzle", "fog", "snow"], [40, 35, 10, 10, 5])[0]
        precipitation = round(r.uniform(0.5, 30), 1) if kind in ("rain", "snow") else 0.0
        temp_max = round(28 - season * 2.5 + r.uniform(-4, 4), 1)
        temp_min = round(temp_max - r.uniform(4, 10), 1)
        wind = round(r.uniform(0.5, 9), 1)
        rows.append([day.strftime("%Y/%m/%d"), precipitation, temp_max, temp_min, wind, kind])
        day += dt.timedelta(days=1)
    write("weather.csv", ["date", "precipitation", "temp_max", "temp_min", "wind", "weather"], rows)


def airports(r):
    places = {
        "CA": ["Fresno", "Los Angeles", "San Diego", "Sacramento", "Oakland"],
        "TX": ["Austin", "Dallas", "Houston", "El Paso"],
        "NC": ["Greenville", "Charlotte", "Raleigh"],
        "SC": ["Greenville", "Columbia"],
        "AK": ["Anchorage", "Fairbanks", "Juneau", "Nome", "Bethel"],
        "FL": ["Miami", "Orlando", "Tampa"],
        "NY": ["Albany", "Buffalo"],
    }
    lat = {"CA": 36, "TX": 31, "NC": 35, "SC": 34, "AK": 61, "FL": 27, "NY": 42}
    weights = {"CA": 12, "TX": 10, "NC": 4, "SC": 3, "AK": 14, "FL": 6, "NY": 3}
    rows = []
    for i in range(400):
        state = r.choices(list(weights), list(weights.values()))[0]
        city = r.choice(places[state])
        code = "".join(chr(65 + (i * 7 + k * 11) % 26) for k in range(2)) + f"{i:03d}"
        rows.append([code, f"{city} Field {i}", city, state, "USA",
                     round(lat[state] + r.uniform(-2, 2), 4), round(-120 + r.uniform(-30, 40), 4),
                     r.randint(0, 6000)])
    write("airports.csv", ["iata", "airport", "city", "state", "country", "lat", "long", "elevation"], rows)


def generation(r):
    base = {"Fossil Fuels": 3000, "Nuclear": 780, "Hydro": 270, "Renewables": 60}
    slope = {"Fossil Fuels": -25, "Nuclear": 2, "Hydro": -3, "Renewables": 28}
    rows = []
    for year in range(2001, 2018):
        for source in base:
            value = base[source] + slope[source] * (year - 2001) + r.randint(-20, 20)
            rows.append([year, source, value])
    write("generation.csv", ["year", "source", "net_generation"], rows)


def events(r):
    rows = []
    start = dt.datetime(2024, 1, 1)
    for i in range(800):
        at = start + dt.timedelta(minutes=r.randint(0, 91 * 24 * 60 - 1))
        kind = r.choices(["login", "view", "purchase", "logout", "error"], [20, 45, 10, 20, 5])[0]
        page = r.choice(["/home", "/pricing", "/docs", "/checkout", "/account"])
        duration = r.randint(20, 5000)
        country = r.choices(["US", "DE", "FR", "IN", "BR"], [40, 20, 15, 15, 10])[0]
        rows.append([at, f"u{r.randint(1, 60):02d}", kind, page, duration, country])
    rows.sort()
    rows = [[a.strftime("%Y-%m-%d %H:%M:%S"), *rest] for a, *rest in rows]
    write("events.csv", ["timestamp", "user_id", "event", "page", "duration_ms", "country"], rows)


def monthly(r):
    rows = []
    for year in (2021, 2022, 2023):
        for month in range(1, 13):
            label = dt.date(year, month, 1).strftime("%b %Y")
            for product, price in (("Widget", 4.5), ("Gadget", 12.0), ("Gizmo", 30.0)):
                rows.append([label, product, r.randint(50, 400), price])
    write("monthly.csv", ["month", "product", "units_sold", "price"], rows)


if __name__ == "__main__":
    rng = random.Random(16)
    for make in (weather, airports, generation, events, monthly):
        make(rng)
