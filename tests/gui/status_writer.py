"""Run as a separate process: walks every track of a library through
PENDING → METADATA_DONE → COMPLETE in small write transactions, the way
workers do; tracks whose id is divisible by 40 end in ERROR.

    python -m tests.gui.status_writer DB_PATH_OR_URL
"""

from __future__ import annotations

import sys
import time

from sqlalchemy import select, update

from mus_desktop.library.engine import open_database
from mus_desktop.library.models import Track

BATCH = 10


def main(db_path: str) -> int:
    db = open_database(db_path)
    with db.read() as session:
        ids = list(session.scalars(select(Track.id).order_by(Track.id)))
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        with db.write() as session:
            session.execute(
                update(Track).where(Track.id.in_(batch)).values(processing_status="METADATA_DONE")
            )
        time.sleep(0.01)
        with db.write() as session:
            for track_id in batch:
                failed = track_id % 40 == 0
                session.execute(
                    update(Track)
                    .where(Track.id == track_id)
                    .values(
                        processing_status="ERROR" if failed else "COMPLETE",
                        last_error_message=f"art: no luck for track {track_id}" if failed else None,
                    )
                )
        time.sleep(0.01)
    db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
