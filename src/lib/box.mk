# src/lib box layer: libvirt connection, box state/revert/resume, guest agent.
