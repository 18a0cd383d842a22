"""A test-only Ansible callback: every task result as one JSON line.

Enabled by the tests (``ANSIBLE_CALLBACKS_ENABLED=record``); writes to the
file named by ``TENTACLE_HA_RECORD``. ansible-core has no JSON callback of
its own, and the tests need per-host, per-task results.
"""

from __future__ import annotations

import json
import os
from typing import Any

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):  # type: ignore[misc]  # ansible-core ships no type information
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "record"
    CALLBACK_NEEDS_ENABLED = True

    def _record(self, status: str, result: Any) -> None:
        line = {
            "host": result._host.get_name(),
            "task": result._task.get_name(),
            "action": result._task.action,
            "status": status,
            "result": result._result,
        }
        with open(os.environ["TENTACLE_HA_RECORD"], "a", encoding="utf-8") as out:  # noqa: PTH123 -- one append per result
            out.write(json.dumps(line, default=str) + "\n")

    def v2_runner_on_ok(self, result: Any) -> None:
        self._record("ok", result)

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:  # noqa: FBT001, FBT002 -- the callback API
        del ignore_errors  # recorded as failed either way
        self._record("failed", result)

    def v2_runner_on_skipped(self, result: Any) -> None:
        self._record("skipped", result)

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._record("unreachable", result)
