# Services run under eventlet in their processes; in-process service tests must too.
import eventlet

eventlet.monkey_patch()
