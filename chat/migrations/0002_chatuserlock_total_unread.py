"""Each chat user's unread total as a counter on their ``ChatUserLock`` row, filled from the read
states of the conversations they take part in (the buyer, or the vendor's staff)."""

from django.db import migrations, models

FILL = """
INSERT INTO chat_chatuserlock (user_id, total_unread)
SELECT DISTINCT rs.user_id, 0 FROM chat_chatreadstate rs
ON CONFLICT (user_id) DO NOTHING;
UPDATE chat_chatuserlock l SET total_unread = t.total FROM (
    SELECT rs.user_id, SUM(rs.unread) AS total
    FROM chat_chatreadstate rs JOIN chat_conversation c ON c.id = rs.conversation_id
    WHERE rs.unread > 0 AND (c.buyer_id = rs.user_id OR EXISTS (
        SELECT 1 FROM commerce_vendorstaff s WHERE s.vendor_id = c.vendor_id AND s.user_id = rs.user_id))
    GROUP BY rs.user_id
) t WHERE l.user_id = t.user_id;
"""


class Migration(migrations.Migration):

    dependencies = [
        ("chat", "0001_initial"),
        ("commerce", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="chatuserlock",
            name="total_unread",
            field=models.IntegerField(default=0),
        ),
        migrations.RunSQL(FILL, reverse_sql=migrations.RunSQL.noop),
    ]
