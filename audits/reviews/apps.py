from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "audits.reviews"
    label = "reviews"
    verbose_name = "Audits: reviewer comparisons and ratings"
