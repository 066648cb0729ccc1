"""The route a reader takes: JupyterLab, not papermill. A headless JupyterLab server on a free local port lists the
notebooks through its REST API, starts a kernel for one (the kernel that scripts/bootstrap.sh installs), and runs a
smoke notebook's cells through that kernel to the end; then the server is stopped."""
import json
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import nbformat
import pytest

from uinfo import runner

websocket = pytest.importorskip("websocket")  # websocket-client, installed with jupyter_server

NOTEBOOK = "single_neuron"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, root, port, token, log):
        self.base, self.token, self.log = f"127.0.0.1:{port}", token, log
        with open(log, "w") as fh:  # a file, not a pipe: an unread pipe fills up and stalls the server
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--ServerApp.port={port}",
                 "--ServerApp.port_retries=0", "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
                 f"--ServerApp.root_dir={root}"], stdout=fh, stderr=subprocess.STDOUT)

    def api(self, method, path, body=None):
        request = urllib.request.Request(f"http://{self.base}{path}", method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Authorization": f"token {self.token}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            text = response.read()
            return json.loads(text) if text else None

    def wait_until_up(self, limit_s=300):
        deadline = time.monotonic() + limit_s  # a generous bound on start-up, not a timing assertion
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"JupyterLab exited at start-up: {self.log.read_text()}")
            try:
                return self.api("GET", "/api/status")
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.5)
        raise AssertionError(f"JupyterLab did not answer on {self.base} within {limit_s} s")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _execute(ws, session_id, code) -> list[dict]:
    """Send one execute_request on the kernel's channels; return its iopub messages once the kernel is idle again.
    Fails on an error reply."""
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({"header": {"msg_id": msg_id, "username": "test", "session": session_id,
                                   "msg_type": "execute_request", "version": "5.3"},
                        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
                        "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                                    "allow_stdin": False, "stop_on_error": True}}))
    outputs, reply, idle = [], None, False
    while reply is None or not idle:
        msg = json.loads(ws.recv())
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind = msg["header"]["msg_type"]
        if msg["channel"] == "shell" and kind == "execute_reply":
            reply = msg["content"]
        elif kind == "status" and msg["content"]["execution_state"] == "idle":
            idle = True
        elif msg["channel"] == "iopub":
            outputs.append(msg)
    if reply["status"] != "ok":
        raise AssertionError(f"cell failed in the kernel: {reply.get('ename')}: {reply.get('evalue')}\n{code}")
    return outputs


def test_a_smoke_notebook_runs_through_jupyterlab(tmp_path):
    root = tmp_path / "lab"
    runner.prepare([NOTEBOOK], "smoke", root, {"store_dir": str(tmp_path / "store"),
                                                "figures_dir": str(tmp_path / "figures")})
    server = Server(root, _free_port(), secrets.token_hex(16), tmp_path / "jupyterlab.log")
    try:
        assert "started" in server.wait_until_up()
        listed = [item["name"] for item in server.api("GET", "/api/contents/")["content"]]
        assert f"{NOTEBOOK}.ipynb" in listed
        session = server.api("POST", "/api/sessions", {"path": f"{NOTEBOOK}.ipynb", "type": "notebook",
                                                       "name": NOTEBOOK, "kernel": {"name": "python3"}})
        kernel = session["kernel"]["id"]
        ws = websocket.create_connection(f"ws://{server.base}/api/kernels/{kernel}/channels?token={server.token}",
                                         timeout=600)
        try:
            cells = [c.source for c in nbformat.read(root / f"{NOTEBOOK}.ipynb", 4).cells if c.cell_type == "code"]
            printed = []
            for code in cells:
                printed += [m["content"].get("text", "") for m in _execute(ws, uuid.uuid4().hex, code)
                            if m["header"]["msg_type"] == "stream"]
        finally:
            ws.close()
        assert "IProgress not found" not in "".join(printed)  # ipywidgets is installed: tqdm draws its widget
        assert (tmp_path / "figures" / "claims" / f"{NOTEBOOK}.json").exists()  # the last cells ran
        server.api("DELETE", f"/api/sessions/{session['id']}")
        assert server.api("GET", "/api/kernels") == []
    finally:
        server.stop()
    assert server.proc.returncode is not None
