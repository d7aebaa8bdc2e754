"""Intelligent discovery:
IoT ingestion (NGSI-LD and friends), devices, readings, rules, detectors, alerts and emergency mode."""
