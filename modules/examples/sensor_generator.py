"""sensor_generator: a module that sends its own data (a tutorial example).

A producer has no inputs (`inputs = 0`) and one output. It declares its output template in
`setup()`, then the runtime calls `produce()` again and again: send what is due with
`self.emit(...)` and return True to be called again, or False when done; the runtime then sends
end-of-stream and exits. Keep each call short (nap at most ~0.1 s): the runtime checks for
SIGTERM between calls. Run it: `python -m modules.examples.sensor_generator -n 10 -i u:sensors`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from libtrap_py.cli import module_command
from libtrap_py.module import Module, param
from unirec import Record, UrTime

TEMPLATE = "time TIME,uint16 SENSOR_ID,double TEMPERATURE,double HUMIDITY"


@dataclass
class SensorParams:
    count: int = param(10, "-n", "Number of records to send.")
    rate: float = param(10.0, "-r", "Records per second.")

    def validate(self) -> None:
        if self.count < 0:
            raise ValueError(f"-n {self.count}: must be >= 0")
        if self.rate <= 0:
            raise ValueError(f"-r {self.rate:g}: must be > 0 records per second")


class SensorGenerator(Module):
    name = "sensor_generator"
    description = f"Send made-up sensor readings as records '{TEMPLATE}'."
    inputs, outputs = 0, 1
    Params = SensorParams

    def setup(self) -> None:
        self.set_output_template(TEMPLATE)
        self.sent, self.due = 0, time.monotonic()

    def produce(self) -> bool:
        if self.sent >= self.params.count:
            return False                                  # done: EOF is sent for us
        wait = self.due - time.monotonic()
        if wait > 0:
            time.sleep(min(wait, 0.1))
            return True                                   # nothing due yet: call again
        i = self.sent
        self.emit(Record(TEMPLATE, TIME=UrTime(time.time_ns()), SENSOR_ID=i % 4 + 1,
                         TEMPERATURE=round(21 + 3 * math.sin(i / 5), 2),
                         HUMIDITY=round(45 + 10 * math.cos(i / 7), 2)))
        self.sent, self.due = i + 1, self.due + 1 / self.params.rate
        return True


main = module_command(SensorGenerator)

if __name__ == "__main__":
    main()
