"""The technician's screen: each device's state or the doctor's verdict, backlog, cash taken."""

from __future__ import annotations

from kivy.metrics import sp

from kiosk.devices import DeviceHealth
from kiosk.screens.base import KioskScreen
from kiosk.screens.names import DEVICE_NAMES
from kiosk.screens.widgets import ORANGE, PAD, PALE, TOUCH, WHITE, YELLOW, money
from kiosk.view import DeviceCheckView, KioskView


class TechnicianScreen(KioskScreen):
    def build(self, view: KioskView) -> None:
        title = self.t("Technician")
        if view.technician_card:
            title += "   " + self.t("Staff card {card}", card=str(view.technician_card))
        self.body.add_widget(
            self.caption(title, size=40, bold=True, size_hint_y=None, height=sp(40) * 1.7)
        )
        checks = {c.name: c for c in view.doctor}
        grid = self.grid(cols=2, spacing=PAD, size_hint_y=len(view.devices) or 1)
        for device in view.devices:
            grid.add_widget(
                self.caption(
                    self.t(DEVICE_NAMES.get(device.name, device.name)), size=24, size_hint_x=0.4
                )
            )
            check = checks.get(device.name)
            text, ok = self._state(device) if check is None else self._checked(check)
            grid.add_widget(
                self.caption(text, size=18 if check else 20, colour=WHITE if ok else ORANGE)
            )
        self.body.add_widget(grid)
        if view.message in ("doctor_done", "test_printed", "test_not_printed"):
            self.body.add_widget(self.caption(self.message(view), size=24, colour=YELLOW,
                                              size_hint_y=0.5))  # fmt: skip
        self.body.add_widget(
            self.caption(self.t("Journal backlog: {count}", count=str(view.backlog)), size=24,
                         size_hint_y=0.5)
        )  # fmt: skip
        counts = ", ".join(f"{money(view, d)} × {n}" for d, n in view.cash_counts) or "—"
        self.body.add_widget(
            self.caption(self.t("Cash taken: {counts}", counts=counts), size=22, colour=PALE,
                         size_hint_y=0.5)
        )  # fmt: skip
        row = self.box(spacing=PAD * 2, size_hint_y=None, height=TOUCH * 1.3)
        row.add_widget(
            self.button(self.t("Doctor"), self.submit("doctor"), name="doctor", primary=False)
        )
        row.add_widget(
            self.button(self.t("Test receipt"), self.submit("test_receipt"), name="test_receipt",
                  primary=False)
        )  # fmt: skip
        row.add_widget(self.button(self.t("Exit"), self.submit("go_idle"), name="exit"))
        self.body.add_widget(row)

    def _state(self, device: DeviceHealth) -> tuple[str, bool]:
        state = "OK" if device.ok else ("Not fitted" if not device.fitted else "Failed")
        return self.t(state) + (f"\n{device.detail}" if device.detail else ""), device.ok

    def _checked(self, check: DeviceCheckView) -> tuple[str, bool]:
        """The doctor's verdict: OK with what the driver reported, or why and what to do."""
        if not check.fitted:
            return self.t("Not fitted"), True
        if check.ok:
            text = self.t("Self-test OK")
            details = ", ".join(f"{k} {v}" for k, v in check.details)
            if details:
                text += f": {details}"
        else:
            text = self.t("Self-test failed") + f": {check.reason}"
            if check.advice:
                text += "\n" + self.t("What to do: {advice}", advice=check.advice)
        if not check.in_use:
            text += "\n" + self.t("Not in use by the kiosk")
        return text, check.ok and check.in_use
