"""Drives radial's web page in a real browser (Debian's chromium through
Playwright): with API keys configured, the page asks for a key; then it
uploads a synthetic case, waits for the result and reads the probability and
class shown, which must equal what `radial predict --image --mask` prints.

Usage: browser_test.py RADIAL_BINARY WORK_DIR
"""
import json
import os
import re
import subprocess
import sys
import time

from playwright.sync_api import sync_playwright

RADIAL, WORK = sys.argv[1], sys.argv[2]

SETTINGS = """\
interpolation: {spacing: [1.5, 1.5, 1.5], image: linear, mask: linear, round_intensities: true}
resegmentation: {range: [-100, 250]}
families: [statistics]
"""
PROTOCOL = """\
repeats: 1
folds: 3
standardise: true
selection:
  - univariate: {k: 3}
classifier: {kind: logistic}
"""
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def radial(*args):
    out = subprocess.run([RADIAL, *args], cwd=WORK, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"radial {args} failed: {out.stderr}")
    return out.stdout


def build_model():
    """A model trained on a synthetic cohort with its extraction recorded."""
    radial("synth", "--cases", "12", "--out", "cases")
    open(os.path.join(WORK, "settings.yaml"), "w").write(SETTINGS)
    open(os.path.join(WORK, "protocol.yaml"), "w").write(PROTOCOL)
    rows, header = [], None
    manifest = open(os.path.join(WORK, "cases/manifest.csv")).read().splitlines()
    for line in manifest[1:]:
        f = line.split(",")
        case, image, mask, phenotype = f[0], f[1], f[2], f[4]
        out = radial("extract", "--image", f"cases/{image}", "--mask", f"cases/{mask}",
                     "--settings", "settings.yaml", "--case-id", case).splitlines()
        names, values = out[0].split(","), out[1].split(",")
        keep = [i for i, n in enumerate(names) if i == 0 or n.startswith("stat_")]
        header = [names[i] for i in keep] + ["phenotype"]
        rows.append([values[i] for i in keep] + [phenotype])
    with open(os.path.join(WORK, "table.csv"), "w") as t:
        t.write(",".join(header) + "\n")
        for r in rows:
            t.write(",".join(r) + "\n")
    radial("evaluate", "--table", "table.csv", "--label-column", "phenotype", "--positive", "1",
           "--protocol", "protocol.yaml", "--out", "out", "--id", "liver",
           "--extraction-settings", "settings.yaml")
    return os.path.join(WORK, "out/liver.model.json")


def start_server(model, keys):
    server = subprocess.Popen(
        [RADIAL, "serve", "--model", model, "--listen", "127.0.0.1:0", "--data",
         os.path.join(WORK, "data"), "--api-keys", keys, "--workers", "1"],
        cwd=WORK, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        line = server.stderr.readline()
        m = re.search(r"listening on (http://\S+)", line)
        if m:
            return server, m.group(1)
        if server.poll() is not None:
            break
    server.kill()
    sys.exit("radial serve did not start")


def main():
    model = build_model()
    secret = "browser-test-secret"
    digest = radial("serve", "hash-key", secret).strip()
    keys = os.path.join(WORK, "keys.txt")
    open(keys, "w").write(f"clinician submit {digest}\n")
    server, url = start_server(model, keys)
    try:
        case = "case_0003"
        image = os.path.join(WORK, f"cases/images/{case}.nii.gz")
        mask = os.path.join(WORK, f"cases/masks/{case}.nii.gz")
        row = radial("predict", model, "--image", image, "--mask", mask).splitlines()[1].split(",")
        cli_probability, cli_class = float(row[2]), row[3]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)
            page = browser.new_page()
            page.goto(url + "/")
            # Keys are configured: the page asks for one.
            page.get_by_test_id("api-key").wait_for(state="visible", timeout=15000)
            page.get_by_test_id("api-key").fill(secret)
            page.get_by_test_id("key-save").click()
            # The page's CSP forbids eval: wait with selectors and polling.
            page.locator("#model option").first.wait_for(state="attached", timeout=15000)
            page.set_input_files("input[name=image]", image)
            page.set_input_files("input[name=mask]", mask)
            started = time.time()
            page.get_by_test_id("submit").click()
            deadline = time.time() + 120
            while (page.get_by_test_id("probability").text_content() == "-"
                   and not page.get_by_test_id("error").text_content()):
                if time.time() > deadline:
                    sys.exit("no result shown within 120 s")
                time.sleep(0.2)
            error = page.get_by_test_id("error").text_content()
            if error:
                sys.exit(f"the page shows an error: {error}")
            shown_probability = float(page.get_by_test_id("probability").text_content())
            shown_class = page.get_by_test_id("class").text_content()
            page.wait_for_selector("[data-testid=preview][src^=blob]", timeout=15000)
            preview_loaded = page.get_by_test_id("preview").bounding_box()["width"]
            feature_rows = page.locator("[data-testid=features] tbody tr").count()
            browser.close()
        print(f"page: probability {shown_probability} class {shown_class} "
              f"({time.time() - started:.2f} s); preview width {preview_loaded}; "
              f"{feature_rows} features")
        print(f"cli:  probability {cli_probability} class {cli_class}")
        assert shown_probability == cli_probability, "probability differs from radial predict"
        assert shown_class == cli_class, "class differs from radial predict"
        assert preview_loaded > 0, "the preview image did not load"
        assert feature_rows > 0, "no feature shown"
        print("browser test: OK")
    finally:
        server.kill()
        server.wait()


if __name__ == "__main__":
    main()
